#!/usr/bin/env bash
# Set up everything mmcolam needs, idempotently: a virtual environment in
# .venv with the verified stack and mmcolam itself, and (where apt is
# available) Debian's Fashion-MNIST package for the main job.
# Usage: bash tools/setup_env.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "[setup] creating .venv with $($PYTHON --version)"
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.mmcolam-installed
wanted=$(cat requirements/runtime.txt requirements/tests.txt setup.py | sha1sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
    echo "[setup] installing requirements into .venv (first run: a few minutes)"
    .venv/bin/pip install -q -r requirements/runtime.txt -r requirements/tests.txt
    .venv/bin/pip install -q --no-deps --no-build-isolation -e .
    echo "$wanted" > "$stamp"
fi

FMNIST=/usr/share/datasets/fashion-mnist
if [ ! -f "$FMNIST/train-images-idx3-ubyte.gz" ]; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        echo "[setup] installing Debian's dataset-fashion-mnist"
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null
    else
        echo "[setup] Fashion-MNIST not found in $FMNIST. Install it with" \
             "'sudo apt-get install dataset-fashion-mnist' (Debian/Ubuntu), or put the" \
             "four IDX .gz files of Fashion-MNIST under data/fashion_mnist/." >&2
    fi
fi
