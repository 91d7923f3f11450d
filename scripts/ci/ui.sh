#!/usr/bin/env bash
# The studio UI: install node/npm when absent, `npm ci`, typecheck, lint, unit tests, build into
# ui/dist. Run it BEFORE any cargo build: the server embeds ui/dist at compile time (and the Tauri
# app needs it with `--features tauri/custom-protocol`).
set -euo pipefail
cd "$(dirname "$0")/../../ui"
export DEBIAN_FRONTEND=noninteractive

step() { echo "== ui: $*"; }

# Vite 8 needs Node >= 20.19.
node_ok() {
  command -v node >/dev/null && command -v npm >/dev/null &&
    node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'
}
if ! node_ok; then
  step "installing nodejs and npm (apt)"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  node_ok || { echo "ui.sh: Node $(node --version 2>/dev/null || echo none) is too old; Vite 8 needs >= 20.19" >&2; exit 1; }
fi

step "npm ci"
npm ci --no-audit --no-fund --loglevel=error
step "typecheck"
npm run --silent typecheck
step "lint"
npm run --silent lint
step "unit tests"
npm run --silent test
step "build"
npm run --silent build
test -f dist/index.html || { echo "ui.sh: dist/index.html was not produced" >&2; exit 1; }
echo "== ui: ok (dist in $(pwd)/dist)"
