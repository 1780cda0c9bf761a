#!/usr/bin/env bash
# Set everything up, lint (ruff.toml; isort's order, setup.cfg), then run
# the test suite (CPU only).
# Usage: bash tools/run_tests.sh [pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup_env.sh
.venv/bin/ruff check .
.venv/bin/isort --check-only --diff .
exec .venv/bin/python -m pytest -q "$@"
