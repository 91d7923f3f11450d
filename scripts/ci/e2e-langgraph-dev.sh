#!/usr/bin/env bash
# The studio against a real Python `langgraph dev` server (issue 8: "the same flows run once
# against langgraph dev"): installs langgraph-cli[inmem] in a venv, serves ui/e2e/langgraph-dev
# (langgraph.json + graph.py) with `langgraph dev --no-browser`, and runs the Playwright tests
# e2e/run-langgraph-dev.spec.ts against it: graph view, run with breakpoints (as static
# interrupts), stepping, state and the writer per key, an Agent Inbox interrupt edited and approved.
#
# Prerequisites, in order: scripts/ci/ui.sh (node_modules, ui/dist), then the stategraph binary
# (`cargo build --locked -p stategraph-cli`: the shared Playwright global setup starts it). The
# page is this checkout's ui/dist served by `vite preview` (E2E_RUN_UI=preview). Idempotent.
# Env: LANGGRAPH_DEV_VENV (default ~/.cache/sg-lgdev-venv), CHROMIUM_PATH, SERVER_BIN.
set -euo pipefail
cd "$(dirname "$0")/../../ui"
UI=$(pwd)
export DEBIAN_FRONTEND=noninteractive
step() { echo "== e2e-langgraph-dev: $*"; }

if [ ! -x /usr/bin/chromium ] && [ -z "${CHROMIUM_PATH:-}" ]; then
  step "installing chromium (apt)"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
[ -d node_modules/@playwright/test ] || npm ci --no-audit --no-fund --loglevel=error
[ -f dist/index.html ] || { step "building ui/dist"; npm run --silent build; }

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$(cd .. && pwd)/target}
export SERVER_BIN=${SERVER_BIN:-$CARGO_TARGET_DIR/debug/stategraph}
if [ ! -x "$SERVER_BIN" ]; then
  echo "e2e-langgraph-dev.sh: $SERVER_BIN is missing: build it first (cargo build --locked -p stategraph-cli)" >&2
  exit 1
fi

VENV=${LANGGRAPH_DEV_VENV:-$HOME/.cache/sg-lgdev-venv}
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  step "installing python3-venv (apt)"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends python3 python3-venv python3-pip >/dev/null
fi
if [ ! -x "$VENV/bin/langgraph" ]; then
  step "pip install langgraph-cli[inmem] into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --upgrade pip
  "$VENV/bin/pip" install --quiet "langgraph-cli[inmem]"
fi
"$VENV/bin/langgraph" --version

# Serve a copy: langgraph dev writes its state (.langgraph_api) into the working directory.
WORK=$(mktemp -d)
cp -r e2e/langgraph-dev/. "$WORK/"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
LOG="$WORK/langgraph-dev.log"
step "langgraph dev on port $PORT (log: $LOG)"
(
  cd "$WORK"
  exec env LANGSMITH_TRACING=false LANGCHAIN_TRACING_V2=false LANGGRAPH_CLI_NO_ANALYTICS=1 \
    "$VENV/bin/langgraph" dev --no-browser --no-reload --host 127.0.0.1 --port "$PORT"
) >"$LOG" 2>&1 &
LG_PID=$!
cleanup() { kill "$LG_PID" 2>/dev/null || true; wait "$LG_PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

for _ in $(seq 1 240); do
  if curl -fsS "http://127.0.0.1:$PORT/ok" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$LG_PID" 2>/dev/null; then
    echo "e2e-langgraph-dev.sh: langgraph dev exited before answering /ok:" >&2
    tail -40 "$LOG" >&2
    exit 1
  fi
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$PORT/ok" >/dev/null || { echo "e2e-langgraph-dev.sh: langgraph dev did not answer /ok in 120 s" >&2; tail -40 "$LOG" >&2; exit 1; }

step "playwright: e2e/run-langgraph-dev.spec.ts"
cd "$UI"
LANGGRAPH_DEV_URL="http://127.0.0.1:$PORT" E2E_RUN_UI=preview node_modules/.bin/playwright test run-langgraph-dev
step "ok (screenshots: $UI/test-results/screenshots/run-langgraph-dev-*.png)"
