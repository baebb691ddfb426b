# syntax=docker/dockerfile:1.7
# The brewery trio: one image, four binaries (users, beers, orders, tasks); the command picks
# the service:
#   docker run IMAGE users                  the users service (5001)
#   docker run IMAGE beers | orders         the beers (5002) or orders (5003) service
#   docker run IMAGE tasks users setup      apply users' migrations, then exit
#   docker run IMAGE                        `tasks serve`: all three in one container on SQLite
# BuildKit is required (heredoc and COPY --chmod below); it is the default since Docker 23.

# `1` is the newest stable Rust 1.x (the project needs 1.95 or later); pin it for a
# reproducible build with --build-arg RUST_VERSION=1.95.
ARG RUST_VERSION=1
ARG DEBIAN_RELEASE=bookworm

# ---------------------------------------------------------------------------------------------
FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS builder

# The C libraries Diesel links against (the rust image has them; this keeps it explicit).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      pkg-config libsqlite3-dev libpq-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
# Rust's own default for release builds: debug info stripped, symbols kept (readable
# backtraces). `--build-arg CARGO_PROFILE_RELEASE_STRIP=symbols` saves a further 13 MB over the
# four binaries. An ARG is in the environment of both cargo runs below, so the cached
# dependencies stay valid for the real build.
ARG CARGO_PROFILE_RELEASE_STRIP=debuginfo
ENV CARGO_TERM_COLOR=never

# 1) Dependencies only: the manifests, the lock file and empty stand-ins for the workspace's
#    crates. This layer is rebuilt only when a Cargo.toml or Cargo.lock changes. Every
#    workspace member must be listed here (cargo refuses a workspace with one missing), and
#    the patched Rocket under vendor/ (a dependency, so it belongs to this layer). journey/,
#    the bench's load generator, is a package outside the workspace and stays out of the
#    image (.dockerignore).
COPY Cargo.toml Cargo.lock ./
COPY vendor vendor
COPY shared/Cargo.toml shared/
COPY users/Cargo.toml  users/
COPY beers/Cargo.toml  beers/
COPY orders/Cargo.toml orders/
COPY storefront/Cargo.toml storefront/
COPY tasks/Cargo.toml  tasks/
COPY tests/Cargo.toml  tests/
RUN set -eux; \
    for crate in shared users beers orders storefront tasks tests; do \
      mkdir -p "$crate/src"; : > "$crate/src/lib.rs"; \
    done; \
    for bin in users beers orders tasks; do echo 'fn main() {}' > "$bin/src/main.rs"; done; \
    cargo build --release --locked -p users -p beers -p orders -p tasks; \
    rm -rf shared/src users/src beers/src orders/src storefront/src tasks/src tests/src

# 2) The real sources. COPY keeps the files' own modification times, which can be older than
#    the stand-ins built above; touching them makes cargo rebuild the workspace's crates
#    (and only those) instead of keeping the empty ones.
COPY shared shared
COPY users  users
COPY beers  beers
COPY orders orders
COPY storefront storefront
COPY tasks  tasks
COPY tests  tests
# tasks edge compiles in the edge's nginx configuration.
COPY deploy/nginx deploy/nginx
RUN set -eux; \
    find shared users beers orders storefront tasks tests -type f -exec touch {} +; \
    cargo build --release --locked -p users -p beers -p orders -p tasks; \
    mkdir -p /out; \
    cp target/release/users target/release/beers target/release/orders target/release/tasks /out/

# ---------------------------------------------------------------------------------------------
FROM debian:${DEBIAN_RELEASE}-slim AS runtime

# Only what the binaries load at run time: libsqlite3 and libpq (dynamically linked, with
# their own dependencies: OpenSSL, Kerberos, LDAP), and the public CA roots for libpq's
# sslmode=verify-full (sslrootcert=/etc/ssl/certs/ca-certificates.crt).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libsqlite3-0 libpq5 ca-certificates \
 && rm -rf /var/lib/apt/lists/*

# A fixed numeric uid/gid, so Kubernetes' runAsNonRoot can check it without a passwd lookup.
RUN groupadd --system --gid 10001 brewery \
 && useradd --system --uid 10001 --gid brewery --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin brewery \
 && mkdir -p /app/data \
 && chown brewery:brewery /app/data

COPY --from=builder /out/ /usr/local/bin/

# The health check. The image has no curl or wget, and installing curl would add libcurl
# and its libraries for one request every few seconds. bash is in every Debian image
# (Essential: yes) and speaks TCP through /dev/tcp, which is all an HTTP/1.1 GET needs.
# It asks GET /ready of the service(s) this container runs, found on PID 1's command line
# (`users`, `tasks users serve`, `tasks serve` for all three, `tasks storefront`; under an
# init too), on the port that *_PORT sets; HEALTHCHECK_SERVICES="users beers" overrides the
# guess. One-shot commands (setup, seed, create-admin) are reported healthy: there is
# nothing to ask.
COPY --chmod=0755 <<"EOF" /usr/local/bin/healthcheck
#!/bin/bash
set -u

probe() {
  local service=$1 default_port=$2 upper port_var address_var port host status
  upper=${service^^}
  port_var=${upper}_PORT
  address_var=${upper}_ADDRESS
  port=${!port_var:-$default_port}
  host=${!address_var:-127.0.0.1}
  case $host in 0.0.0.0 | :: | "[::]") host=127.0.0.1 ;; esac
  if ! { exec 3<>"/dev/tcp/$host/$port"; } 2>/dev/null; then
    echo "$service: nothing listens on $host:$port"
    return 1
  fi
  printf 'GET /ready HTTP/1.1\r\nHost: localhost\r\nUser-Agent: healthcheck\r\nConnection: close\r\n\r\n' >&3
  status=
  IFS= read -r -t 5 status <&3
  exec 3<&- 3>&-
  status=${status%$'\r'}
  case $status in
    "HTTP/1."?" 200 "*) echo "$service: $status"; return 0 ;;
    *) echo "$service: ${status:-no answer} from GET http://$host:$port/ready"; return 1 ;;
  esac
}

services=()
if [ -n "${HEALTHCHECK_SERVICES:-}" ]; then
  read -r -a services <<<"$HEALTHCHECK_SERVICES"
else
  argv=()
  [ -r /proc/1/cmdline ] && mapfile -d '' -t argv </proc/1/cmdline
  serve=no
  for arg in "${argv[@]}"; do
    case ${arg##*/} in
      users | beers | orders | storefront) services+=("${arg##*/}") ;;
      serve) serve=yes ;;
      setup | seed | create-admin | pg | test | help | -h | --help | -V | --version)
        echo "one-shot command: nothing to check"; exit 0 ;;
    esac
  done
  if [ ${#services[@]} -eq 0 ] && [ "$serve" = yes ]; then services=(users beers orders); fi
  if [ ${#services[@]} -eq 0 ]; then echo "no brewery service on PID 1: nothing to check"; exit 0; fi
fi

failed=0
for service in "${services[@]}"; do
  case $service in
    users) probe users 5001 || failed=1 ;;
    beers) probe beers 5002 || failed=1 ;;
    orders) probe orders 5003 || failed=1 ;;
    storefront) probe storefront 5000 || failed=1 ;;
    *) echo "unknown service: $service"; failed=1 ;;
  esac
done
exit $failed
EOF

WORKDIR /app
USER 10001:10001

# In a container the services must listen on every interface, not the loopback default.
ENV USERS_ADDRESS=0.0.0.0 \
    BEERS_ADDRESS=0.0.0.0 \
    ORDERS_ADDRESS=0.0.0.0
EXPOSE 5000 5001 5002 5003

# /ready, not /health: a container is useful only when its database answers, and compose
# starts the neighbours on this (depends_on: condition: service_healthy). Kubernetes ignores
# HEALTHCHECK and uses the probes in deploy/k8s.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/healthcheck"]

# The services stop gracefully on SIGTERM (Docker's default stop signal).
CMD ["tasks", "serve"]
