#!/usr/bin/env bash
# Set up everything newsradar needs on this machine, idempotently:
#   Debian packages (Java 17+, Maven; more when tests need them), a virtualenv in .venv keyed on
#   the hash of pyproject.toml + the lock it installs, the pinned Python deps, the engine's native
#   core where cargo is installed, and the Kafka jars (through Maven, cached in ~/.m2 and
#   ~/.cache/newsradar).
# The venv gets requirements-dev.lock (runtime + tests, linters) by default; `--runtime` (a
# server: the systemd install) gets requirements.lock alone.
# Quiet when all is there already; prints what it installs.
set -euo pipefail
cd "$(dirname "$0")/.."

lock=requirements-dev.lock
case "${1:-}" in
    "") ;;
    --runtime) lock=requirements.lock ;;
    *) printf 'bootstrap: unknown argument %q; use --runtime or nothing\n' "$1" >&2; exit 2 ;;
esac

log() { printf 'bootstrap: %s\n' "$*" >&2; }

apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
        log "missing Debian packages: ${missing[*]}; install them (apt-get install ${missing[*]})"
        exit 1
    fi
    local SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    log "installing Debian packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
}

# Java 17+ and Maven run and fetch the local Kafka broker.
command -v java >/dev/null || apt_install openjdk-17-jre-headless
command -v mvn >/dev/null || apt_install maven
# Extra Debian packages the test suite needs (servers, browsers), listed in one place.
if [ "${NEWSRADAR_BOOTSTRAP_TEST_PACKAGES:-0}" = 1 ] && [ -s deploy/debian-test-packages.txt ]; then
    mapfile -t test_pkgs < <(grep -v '^\s*#' deploy/debian-test-packages.txt | grep -v '^\s*$')
    [ ${#test_pkgs[@]} -eq 0 ] || apt_install "${test_pkgs[@]}"
fi

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    log "newsradar needs Python 3.11+; set PYTHON=/path/to/python3.11"
    exit 1
fi

want="$( (echo "$lock"; cat pyproject.toml "$lock") | sha256sum | cut -c1-16)"
have="$(cat .venv/.deps-hash 2>/dev/null || true)"
if [ "$want" != "$have" ]; then
    log "creating .venv from $lock (dependencies changed or first run)"
    rm -rf .venv
    "$PYTHON" -m venv .venv
    .venv/bin/python -m pip install -q --disable-pip-version-check "uv==0.13.9"
    .venv/bin/uv pip install -q --python .venv/bin/python -r "$lock"
    .venv/bin/uv pip install -q --python .venv/bin/python --no-deps -e .
    echo "$want" > .venv/.deps-hash
fi

# The detection engine's native core (Rust, processors/native) where cargo is installed, rebuilt
# when its sources change; without it the engine runs the same steps in Python, slower.
native_want="$(cat processors/native/Cargo.toml processors/native/Cargo.lock \
    processors/native/pyproject.toml processors/native/src/*.rs | sha256sum | cut -c1-16)"
if [ "$native_want" != "$(cat .venv/.native-hash 2>/dev/null || true)" ]; then
    if command -v cargo >/dev/null; then
        log "building the engine's native core (Rust; about a minute the first time)"
        # Compiled crates are kept outside the checkout, so a fresh clone rebuilds little.
        if CARGO_TARGET_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/newsradar/native-target" \
            .venv/bin/uv pip install -q --python .venv/bin/python --no-cache --reinstall \
            ./processors/native; then
            echo "$native_want" > .venv/.native-hash
        else
            log "the native core did not build (see above; it needs Rust 1.85+):" \
                "the engine runs its Python steps"
        fi
    else
        log "no cargo: the engine runs its Python steps (install Rust 1.85+ and re-run" \
            "to build its native core, about 1.6 times as fast)"
    fi
fi

# Fetch the broker's jars now (once), so the first `broker start` does not wait for Maven.
.venv/bin/python -c 'from newsradar.broker import ensure_jars; ensure_jars()'
