#!/usr/bin/env bash
# Run the whole pipeline on this machine: set-up, then `newsradar up` (local broker unless
# kafka.bootstrap names an external cluster). Arguments go to `newsradar up`, e.g. --demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/newsradar up "$@"
