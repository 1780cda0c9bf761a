#!/usr/bin/env bash
# The main job on the embedded default: set everything up, then train a small
# CNN on real Fashion-MNIST (first 10,000 training images, full 10,000-image
# test set, 12 epochs) with hard labels and with COLAM, side by side, and
# print their test accuracy and training time.
# Usage: bash tools/quickstart.sh [extra tools/benchmark.py arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup_env.sh
.venv/bin/python tools/prepare_fashion_mnist.py
exec .venv/bin/python tools/benchmark.py \
    configs/baselines/smallconvnet_1xb128-hl_fashion-mnist.py \
    configs/colam/smallconvnet_1xb128-colam_fashion-mnist.py \
    --seeds 0 --train-subset 10000 --work-dir work_dirs/quickstart "$@"
