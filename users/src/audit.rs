//! The audit trail: one log line (target `audit`) and one counter step for every event an
//! operator may need to reconstruct an attack or an account's history: logins, throttling,
//! logouts, password changes and role changes. A line names who (username), from where
//! (client address), which request, what and how it ended; never a password or a token.

use rocket::request::{FromRequest, Outcome as GuardOutcome};
use rocket::Request;
use rocket_prometheus::prometheus::{IntCounterVec, Opts};
use shared::request::RequestId;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Login,
    Logout,
    LogoutAll,
    PasswordChange,
    RoleChange,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Login => "login",
            Event::Logout => "logout",
            Event::LogoutAll => "logout_all",
            Event::PasswordChange => "password_change",
            Event::RoleChange => "role_change",
        }
    }
}

/// How it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// A wrong password (or, for a login, an unknown username).
    Failure,
    /// Refused unchecked: too many recent failures (answered 429).
    Throttled,
    /// A role change that made a new administrator.
    Created,
    /// A role change that made an existing account an administrator.
    Promoted,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Throttled => "throttled",
            Outcome::Created => "created",
            Outcome::Promoted => "promoted",
        }
    }
}

/// `users_audit_events_total{event, outcome}` of one service instance (each instance has its
/// own `/metrics` registry, so the counter is per instance too).
#[derive(Clone)]
pub struct AuditCounter(IntCounterVec);

impl AuditCounter {
    pub fn new() -> Self {
        let counter = IntCounterVec::new(
            Opts::new(
                "users_audit_events_total",
                "Audited account events (login, logout, logout_all, password_change, \
                 role_change) by outcome",
            ),
            &["event", "outcome"],
        )
        .unwrap_or_else(|e| unreachable!("constant metric options are valid: {e}"));
        AuditCounter(counter)
    }

    pub fn counter(&self) -> &IntCounterVec {
        &self.0
    }
}

impl Default for AuditCounter {
    fn default() -> Self {
        Self::new()
    }
}

/// Usernames are at most 64 characters; a longer one in a failed login is cut here.
const LOGGED_USERNAME_CHARS: usize = 128;

/// Writes the audit line of one event. `request_id` is `None` outside a request (the
/// `create-admin` task); `client` names the machine or, in a request, the client address.
pub fn log(event: Event, outcome: Outcome, username: &str, client: &str, request_id: Option<&str>) {
    // A failed login's username is whatever was typed; a log line need not hold a megabyte.
    let username: String = username.chars().take(LOGGED_USERNAME_CHARS).collect();
    tracing::info!(
        target: "audit",
        event = event.as_str(),
        outcome = outcome.as_str(),
        username = %username,
        client,
        request_id = request_id.unwrap_or("-"),
        "audit: {} {}",
        event.as_str(),
        outcome.as_str(),
    );
}

/// The audit trail of one request: its id and the counter of its service instance.
pub struct Audit<'r> {
    request_id: RequestId,
    counter: Option<&'r AuditCounter>,
}

impl Audit<'_> {
    /// Logs the event and counts it.
    pub fn record(&self, event: Event, outcome: Outcome, username: &str, client: &str) {
        log(event, outcome, username, client, Some(&self.request_id.0));
        if let Some(counter) = self.counter {
            counter
                .0
                .with_label_values(&[event.as_str(), outcome.as_str()])
                .inc();
        }
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Audit<'r> {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> GuardOutcome<Self, Self::Error> {
        GuardOutcome::Success(Audit {
            request_id: RequestId::of(req),
            counter: req.rocket().state::<AuditCounter>(),
        })
    }
}
