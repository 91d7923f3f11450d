#!/usr/bin/env bash
# Server (issue 6) checks beyond the default `cargo nextest run`: the official JS client
# (@langchain/langgraph-sdk, crates/stategraph-server/tests/js) against the probe server, the
# whole HTTP suite of stategraph-server again on PostgreSQL (SG_SERVER_TEST_DB=postgres: each
# test server in a fresh schema), and the load smoke: 200 concurrent streaming runs of a 10-step graph on SQLite and on
# PostgreSQL, zero errors, bounded in time (numbers in crates/stategraph-server/LOAD.md), and the
# OpenTelemetry export (feature `otel`, tests/server_otel.rs) to a local collector.
# Idempotent; installs PostgreSQL on a fresh Debian machine when none answers on 127.0.0.1:5432.
#
#   scripts/ci/server.sh
#
# Prerequisites: none beyond scripts/lib.sh (Rust, PostgreSQL) and Node.js 18+ with npm (installed
# from apt when missing). The default test run already
# covers the SQLite/in-memory suite and server_postgres (two server processes on one database),
# which fails under CI=true when PostgreSQL is unreachable.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib.sh

step "server: rust toolchain, PostgreSQL"
ensure_rust
ensure_postgres
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/stategraph-target}
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
export CARGO_INCREMENTAL=0
export CARGO_PROFILE_DEV_DEBUG=${CARGO_PROFILE_DEV_DEBUG:-line-tables-only}
export CI=${CI:-true}

step "server: the official JS client against the probe server"
command -v node >/dev/null 2>&1 || ensure_apt_packages nodejs npm
cargo build --locked -p stategraph-server --example probe_server
PROBE_OUT=$(mktemp)
"$CARGO_TARGET_DIR/debug/examples/probe_server" --port 0 >"$PROBE_OUT" 2>&1 &
PROBE_PID=$!
trap 'kill "$PROBE_PID" 2>/dev/null || true; rm -f "$PROBE_OUT"' EXIT
for _ in $(seq 100); do grep -q "listening on" "$PROBE_OUT" && break; sleep 0.1; done
URL=$(sed -n 's/^listening on //p' "$PROBE_OUT")
[ -n "$URL" ] || { echo "error: the probe server did not start:" >&2; cat "$PROBE_OUT" >&2; exit 1; }
(cd crates/stategraph-server/tests/js && npm ci --no-audit --no-fund && STATEGRAPH_SERVER_URL="$URL" npm test)
kill "$PROBE_PID" 2>/dev/null || true

step "server: the HTTP suite on PostgreSQL"
if cargo nextest --version >/dev/null 2>&1; then
  SG_SERVER_TEST_DB=postgres cargo nextest run --locked -p stategraph-server --no-fail-fast
else
  SG_SERVER_TEST_DB=postgres cargo test --locked -p stategraph-server --no-fail-fast --tests
fi

step "server: load (200 concurrent streaming runs, 10 steps each) on SQLite and PostgreSQL"
cargo build --locked -p stategraph-server --example load
LOAD="$CARGO_TARGET_DIR/debug/examples/load"
"$LOAD" --runs 200 --db sqlite --timeout-secs 120
"$LOAD" --runs 200 --db postgres --url "$DATABASE_URL" --timeout-secs 180

step "server: OpenTelemetry export (feature otel) to a local OTLP/HTTP collector"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --locked -p stategraph-server --features otel --test server_otel
else
  cargo test --locked -p stategraph-server --features otel --test server_otel
fi
