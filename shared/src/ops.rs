//! Operational endpoints every service has: health, readiness, the OpenAPI document and docs.

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::serde::json::{json, Json, Value};
use rocket::{Build, Rocket, State};
use rocket::{Request, Response};
use rocket_prometheus::prometheus::{IntCounterVec, IntGauge, IntGaugeVec, Opts};
use rocket_prometheus::PrometheusMetrics;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use crate::db::Pool;
use crate::error::ApiError;

/// 200 while the process runs.
#[utoipa::path(get, path = "/health", tag = "operations",
    responses((status = 200, description = "The process runs", example = json!({"status": "ok"}))))]
#[rocket::get("/health")]
pub fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// 200 when the service's database answers, else 503.
#[utoipa::path(get, path = "/ready", tag = "operations",
    responses(
        (status = 200, description = "The database answers", example = json!({"status": "ready"})),
        (status = 503, description = "The database does not answer", body = crate::error::ErrorBody)))]
#[rocket::get("/ready")]
pub async fn ready(pool: &State<Pool>) -> Result<Json<Value>, ApiError> {
    match crate::db::ping(pool).await {
        Ok(()) => Ok(Json(json!({"status": "ready"}))),
        Err(error) => {
            // Once per outage, as for requests: a probe every few seconds would fill the log.
            let outage = error.outage().unwrap_or(crate::db::Outage::Unavailable);
            if pool.outage_starts(outage) {
                tracing::error!(%error, "not ready: {}", outage.describe());
            }
            Err(ApiError::new(
                Status::ServiceUnavailable,
                "The database does not answer",
            ))
        }
    }
}

#[rocket::get("/")]
fn root() -> Redirect {
    Redirect::to("/docs")
}

/// The docs page at `/docs` itself, not a redirect to `/docs/` (the contract wants no
/// redirects for a missing trailing slash). A `<base>` keeps its relative assets under `/docs/`.
#[rocket::get("/docs")]
fn docs_page() -> Result<rocket::response::content::RawHtml<String>, ApiError> {
    let config = std::sync::Arc::new(utoipa_swagger_ui::Config::from("/openapi.json"));
    match utoipa_swagger_ui::serve("index.html", config) {
        Ok(Some(file)) => {
            let page = String::from_utf8_lossy(&file.bytes).replacen(
                "<head>",
                "<head><base href=\"/docs/\">",
                1,
            );
            Ok(rocket::response::content::RawHtml(page))
        }
        Ok(None) => Err(ApiError::not_found("There is nothing at this address")),
        Err(error) => {
            tracing::error!(%error, "the docs page cannot be served");
            Err(ApiError::internal())
        }
    }
}

/// Swagger UI's files under `/docs/` and the document at `/openapi.json`. The online validator
/// is off: its badge is an image from another origin, which the docs' policy does not allow
/// (and which would tell that origin where the docs are).
fn docs_assets(api: OpenApiDoc) -> SwaggerUi {
    SwaggerUi::new("/docs/<_..>")
        .url("/openapi.json", api)
        // A config without a URL: the crate then fills in (and serves) the document's URL.
        .config(utoipa_swagger_ui::Config::default().validator_url("none"))
}

#[derive(OpenApi)]
#[openapi(paths(health, ready))]
pub struct OperationsApi;

/// Declares the `Authorization` token scheme that protected endpoints refer to as `token`.
pub struct TokenAuth;

impl Modify for TokenAuth {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "The token from POST /api/users/login, raw or as `Bearer <token>`",
            ))),
        );
    }
}

/// Keeps the pool gauge current: after every response, which is also before every scrape.
/// The two series are looked up once, not by label on every response.
struct PoolGauge {
    idle: IntGauge,
    in_use: IntGauge,
}

impl PoolGauge {
    fn new(gauge: &IntGaugeVec) -> Self {
        PoolGauge {
            idle: gauge.with_label_values(&["idle"]),
            in_use: gauge.with_label_values(&["in_use"]),
        }
    }
}

#[rocket::async_trait]
impl Fairing for PoolGauge {
    fn info(&self) -> Info {
        Info {
            name: "database pool gauge",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, _: &mut Response<'r>) {
        if let Some(pool) = req.rocket().state::<Pool>() {
            let state = pool.state();
            let idle = i64::from(state.idle_connections);
            let in_use = i64::from(state.connections) - idle;
            self.idle.set(idle);
            self.in_use.set(in_use);
        }
    }
}

/// Counters of a service's own, exported in its `/metrics` beside the shared ones: the service
/// manages them in its `mount`, before [`stage`] builds the registry of the instance.
pub struct ServiceCounters(pub Vec<IntCounterVec>);

/// Everything a service has beside its own API: request conventions, JSON catchers,
/// operational routes, `/metrics`, `/openapi.json` and the offline docs page at `/docs`.
pub fn stage(rocket: Rocket<Build>, service: &'static str, mut api: OpenApiDoc) -> Rocket<Build> {
    api.merge(OperationsApi::openapi());
    // Requests by route template, method and status, with latency histograms
    // (rocket_http_requests_total, rocket_http_requests_duration_seconds), plus calls to
    // neighbours. One registry per instance, so several services in one process stay apart.
    let metrics = PrometheusMetrics::new();
    if let Err(error) = metrics
        .registry()
        .register(Box::new(crate::clients::UPSTREAM_CALLS.clone()))
    {
        tracing::error!(%error, "cannot export the upstream call counter");
    }
    if let Some(ServiceCounters(counters)) = rocket.state::<ServiceCounters>() {
        for counter in counters {
            if let Err(error) = metrics.registry().register(Box::new(counter.clone())) {
                tracing::error!(%error, "cannot export a counter of the service");
            }
        }
    }
    let pool_gauge = IntGaugeVec::new(
        Opts::new(
            "brewery_db_pool_connections",
            "Database connections of this instance's pool, by state (in_use, idle)",
        ),
        &["state"],
    );
    let rocket = match pool_gauge {
        Ok(gauge) => match metrics.registry().register(Box::new(gauge.clone())) {
            Ok(()) => rocket.attach(PoolGauge::new(&gauge)),
            Err(error) => {
                tracing::error!(%error, "cannot export the pool gauge");
                rocket
            }
        },
        Err(error) => {
            tracing::error!(%error, "cannot make the pool gauge");
            rocket
        }
    };
    let body_read_timeout = crate::input::BodyReadTimeout::from_figment(rocket.figment());
    // CORS first: its response fairing turns a preflight's 405 into a 204 before the request
    // log and the metrics see it.
    rocket
        .manage(body_read_timeout)
        .attach(crate::cors::Cors)
        .attach(rocket::fairing::AdHoc::on_liftoff(
            "announce",
            move |rocket| {
                Box::pin(async move {
                    let config = rocket.config();
                    // Which database it uses, password left out, so a mistyped URL shows.
                    let database = rocket
                        .state::<Pool>()
                        .map_or_else(|| "none".to_owned(), |pool| pool.database().to_string());
                    tracing::info!(
                        service,
                        address = %config.address,
                        port = config.port,
                        %database,
                        "{service} is listening on http://{}:{}, database {database}",
                        config.address,
                        config.port
                    );
                })
            },
        ))
        .attach(rocket::fairing::AdHoc::on_shutdown("farewell", move |_| {
            Box::pin(async move {
                tracing::info!(
                    service,
                    "{service} is shutting down after the requests in flight"
                );
            })
        }))
        .attach(crate::request::Conventions { service })
        .attach(metrics.clone())
        .mount("/metrics", metrics)
        .mount("/", rocket::routes![health, ready, root, docs_page])
        .mount("/", docs_assets(api))
        .register("/", crate::error::catchers())
}
