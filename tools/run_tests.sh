#!/usr/bin/env bash
# Set everything up, lint (ruff.toml), then run the test suite (CPU only).
# Usage: bash tools/run_tests.sh [pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup_env.sh
.venv/bin/ruff check .
exec .venv/bin/python -m pytest -q "$@"
