#!/usr/bin/env bash
# Studio end-to-end tests: Playwright (already in ui/node_modules after scripts/ci/ui.sh) driving
# Debian's chromium against the real `stategraph` binary ($CARGO_TARGET_DIR/debug/stategraph, or
# $SERVER_BIN). Prerequisites, in order: scripts/ci/ui.sh (ui/dist + node_modules), then
# `cargo build --locked -p stategraph-cli` (or the workspace build) so the binary embeds that dist.
# Screenshots: ui/test-results/screenshots/.
set -euo pipefail
cd "$(dirname "$0")/../../ui"
export DEBIAN_FRONTEND=noninteractive

if [ ! -x /usr/bin/chromium ] && [ -z "${CHROMIUM_PATH:-}" ]; then
  echo "== e2e: installing chromium (apt)"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
[ -d node_modules/@playwright/test ] || npm ci --no-audit --no-fund --loglevel=error

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$(cd .. && pwd)/target}
BIN=${SERVER_BIN:-$CARGO_TARGET_DIR/debug/stategraph}
if [ ! -x "$BIN" ]; then
  echo "e2e.sh: $BIN is missing: build it first (cargo build --locked -p stategraph-cli)" >&2
  exit 1
fi
export SERVER_BIN=$BIN
rm -rf test-results/screenshots
echo "== e2e: playwright against $BIN"
node_modules/.bin/playwright test
echo "== e2e: ok (screenshots in $(pwd)/test-results/screenshots)"
