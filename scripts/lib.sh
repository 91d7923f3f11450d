# Shared helpers for scripts/*.sh (sourced, not run).
export DEBIAN_FRONTEND=noninteractive
STEP_START=$(date +%s)
step() { echo "== [$(( $(date +%s) - STEP_START ))s] $*"; }

# Installs the Debian packages that are missing (apt-get update only when something is missing).
ensure_apt_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || missing+=("$p")
  done
  if ((${#missing[@]})); then
    local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    echo "installing: ${missing[*]}"
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# Makes sure cargo is on PATH.
ensure_rust() {
  if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
  if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo not found. Install Rust 1.94 or newer with rustup (https://rustup.rs) and run again." >&2
    exit 1
  fi
  cargo --version
}

# Runs a command as root (directly when we are root, else through sudo, as on hosted CI runners).
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
# Runs psql/createdb as the postgres user, from / to avoid "could not change directory" warnings.
as_postgres() { (cd / && if [ "$(id -u)" = 0 ]; then su postgres -c "$*"; else sudo -u postgres sh -c "$*"; fi); }

# Makes sure PostgreSQL answers on 127.0.0.1:5432 with a database `test` (the persistence tests use
# it): reuses a running server, else starts the local cluster, installing it where absent.
ensure_postgres() {
  if command -v pg_isready >/dev/null 2>&1 && pg_isready -h 127.0.0.1 -p 5432 -q; then
    echo "reusing PostgreSQL on 127.0.0.1:5432"
  else
    [ -d /usr/lib/postgresql ] || ensure_apt_packages postgresql
    local ver; ver=$(ls /usr/lib/postgresql | sort -n | tail -1)
    pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -qx "$ver main" || as_root pg_createcluster "$ver" main >/dev/null
    as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start 2>/dev/null || as_root pg_ctlcluster "$ver" main start
    for _ in $(seq 60); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 0.5; done
    pg_isready -h 127.0.0.1 -p 5432 -q || { echo "error: PostgreSQL did not start" >&2; return 1; }
    # Fresh clusters use scram on 127.0.0.1: give `postgres` the password the tests use.
    as_postgres "psql -q -v ON_ERROR_STOP=1 -c \"ALTER USER postgres PASSWORD 'postgres'\""
  fi
  as_postgres "psql -q -tA -c \"SELECT 1 FROM pg_database WHERE datname = 'test'\"" | grep -q 1 \
    || as_postgres "createdb test"
  export DATABASE_URL=${DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/test}
}

# Makes sure the Python venv the spec export tests run generated LangGraph code with exists
# ($HOME/.cache/sg-venv, with crates/stategraph-cli/tests/python-requirements.txt installed).
ensure_langgraph_venv() {
  local venv="$HOME/.cache/sg-venv" req="crates/stategraph-cli/tests/python-requirements.txt"
  if "$venv/bin/python" -c "import langgraph, jinja2" 2>/dev/null; then
    echo "reusing $venv"
    return
  fi
  python3 -m venv --help >/dev/null 2>&1 || ensure_apt_packages python3 python3-venv
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r "$req"
}
