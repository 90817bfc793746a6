#!/usr/bin/env bash
# The whole test suite on a fresh machine: set-up, lint, types, unit and integration tests.
# Integration tests start their own Kafka broker (and other servers) on free local ports.
# Extra arguments go to pytest, e.g. `scripts/test.sh -k broker`.
set -euo pipefail
cd "$(dirname "$0")/.."
NEWSRADAR_BOOTSTRAP_TEST_PACKAGES=1 bash scripts/bootstrap.sh
.venv/bin/ruff check --quiet .
.venv/bin/ruff format --quiet --check .
.venv/bin/mypy
if command -v cargo >/dev/null; then  # the engine's native core (Rust)
    (cd processors/native && cargo fmt --check &&
        CARGO_TARGET_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/newsradar/native-target" \
        PYO3_PYTHON="$PWD/../../.venv/bin/python" cargo clippy --quiet --release -- -D warnings)
fi
exec .venv/bin/pytest -q -p no:cacheprovider "$@"
