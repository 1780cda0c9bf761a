#!/usr/bin/env bash
# Set everything up, then run the test suite (CPU only).
# Usage: bash tools/run_tests.sh [pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup_env.sh
exec .venv/bin/python -m pytest -q "$@"
