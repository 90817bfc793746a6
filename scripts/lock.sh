#!/usr/bin/env bash
# Re-pin the Python dependencies after changing them in pyproject.toml, in two locks:
#   requirements.lock      runtime only (what the image, the systemd install and a wheel's
#                          users get): [project] dependencies and the postgres extra
#   requirements-dev.lock  runtime + the dev extra (tests, linters, type checker), held to the
#                          runtime pins (-c), so both locks agree on every package they share
# Existing pins are kept where they still fit; `scripts/lock.sh --upgrade` moves all to newest.
set -euo pipefail
cd "$(dirname "$0")/.."
uv="${UV:-.venv/bin/uv}"
"$uv" pip compile -q "$@" pyproject.toml --extra postgres --python-version 3.11 \
    -o requirements.lock
"$uv" pip compile -q "$@" pyproject.toml --extra dev --extra postgres -c requirements.lock \
    --python-version 3.11 -o requirements-dev.lock
