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
