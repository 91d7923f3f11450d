#!/usr/bin/env bash
# The Python package `langgraph_rust` (issue 9): builds the wheel with maturin, installs it into a
# fresh venv next to Python LangGraph 1.2.24, and runs the parity suite (tests/python), where every
# test runs the same graph code under both packages. PostgreSQL on 127.0.0.1:5432 (db `test`) is
# used for the PostgresSaver test; under CI=true it is required, never skipped.
#
# Env: PY_CARGO_TARGET_DIR (default ~/.cache/sg-target-py: maturin's pyo3 flags and the release
# profile share nothing with the workspace's debug builds, so a separate dir avoids rebuilding
# either), PY_BUILD_VENV, PY_TEST_VENV.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib.sh
ensure_rust

step "python: build venv (maturin)"
python3 -m venv --help >/dev/null 2>&1 || ensure_apt_packages python3 python3-venv
BUILD_VENV=${PY_BUILD_VENV:-$HOME/.cache/sg-pybuild-venv}
[ -x "$BUILD_VENV/bin/maturin" ] || { python3 -m venv "$BUILD_VENV" && "$BUILD_VENV/bin/pip" install -q "maturin>=1.9,<2"; }

step "python: postgres"
ensure_postgres
export DATABASE_URL=${DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/test}

export CARGO_TARGET_DIR=${PY_CARGO_TARGET_DIR:-$HOME/.cache/sg-target-py}
export CARGO_INCREMENTAL=0
step "python: fmt + clippy (bindings crate, its own workspace)"
(cd bindings/python && cargo fmt --check && cargo clippy --locked --release --features extension-module -- -D warnings)

step "python: maturin build (wheel)"
rm -rf bindings/python/dist
(cd bindings/python && "$BUILD_VENV/bin/maturin" build --release --locked -o dist)
WHEEL=$(ls bindings/python/dist/langgraph_rust-*.whl | head -1)
echo "wheel: $WHEEL"

step "python: fresh venv with the wheel and LangGraph 1.2.24"
TEST_VENV=${PY_TEST_VENV:-$HOME/.cache/sg-pytest-venv}
python3 -m venv --clear "$TEST_VENV"
"$TEST_VENV/bin/pip" install -q pytest "langgraph==1.2.24" langgraph-checkpoint-sqlite langgraph-checkpoint-postgres \
  "psycopg[binary]" pydantic langchain-core
"$TEST_VENV/bin/pip" install -q "$WHEEL"
# The suite must import the installed wheel, never the source tree.
(cd / && "$TEST_VENV/bin/python" -c "import langgraph_rust._native as n, sys; assert 'site-packages' in n.__file__, n.__file__; print('imported', n.__file__)")

step "python: import time"
"$TEST_VENV/bin/python" bindings/python/benches/import_time.py

step "python: parity suite"
CI=${CI:-true} "$TEST_VENV/bin/python" -m pytest -q -p no:cacheprovider tests/python
