#!/usr/bin/env bash
# The main job on the embedded default: set everything up, then train a
# narrow PreActResNet-18 that fits its training images (1,000 Fashion-MNIST
# images, no augmentation, 30 epochs) with hard labels, label smoothing and
# COLAM's defaults, 3 seeds each, and print their training, validation (1,000
# held-out training images) and test (the full 10,000-image test set)
# accuracy and training time side by side.
# Usage: bash tools/quickstart.sh [extra arguments of
#        tools/analysis_tools/benchmark.py]
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup_env.sh
exec .venv/bin/python tools/analysis_tools/benchmark.py \
    configs/baselines/preact-resnet18-w8_1xb64-hl_fashion-mnist.py \
    configs/baselines/preact-resnet18-w8_1xb64-ls_fashion-mnist.py \
    configs/colam/preact-resnet18-w8_1xb64-colam_fashion-mnist.py \
    --seeds 0 1 2 --val-size 1000 --train-subset 1000 \
    --work-dir work_dirs/quickstart "$@"
