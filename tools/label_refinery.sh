#!/usr/bin/env bash
# Label Refinery's two generations (Bagherinezhad et al. 2018), one after the
# other, with tools/train.py:
#   1. train CONFIG_GEN1 (usually the hard-label run) in WORK_DIR/gen1;
#   2. train CONFIG_GEN2 (a LabelRefinery config) in WORK_DIR/gen2 with
#      generation 1 as its frozen teacher: --cfg-options
#      model.teacher.config=CONFIG_GEN1 model.teacher.checkpoint=<the
#      checkpoint named in WORK_DIR/gen1/last_checkpoint>.
#
# Usage:
#   bash tools/label_refinery.sh CONFIG_GEN1 CONFIG_GEN2 WORK_DIR [ARGS...]
# ARGS go to both runs of tools/train.py (e.g. --amp, --resume, or
# --cfg-options K=V ..., to which the teacher's two keys are added for
# generation 2); do not pass --work-dir. With --resume, a rerun resumes each
# generation from its latest checkpoint.
# Example (Fashion-MNIST):
#   bash tools/label_refinery.sh \
#       configs/baselines/smallconvnet_1xb128-hl_fashion-mnist.py \
#       configs/baselines/smallconvnet_1xb128-lr_fashion-mnist.py \
#       work_dirs/lr_fashion-mnist
# A third generation: CONFIG_GEN2 can itself be a teacher config (its own
# teacher is dropped), e.g. python tools/train.py CONFIG_GEN2 --cfg-options
#   model.teacher.config=CONFIG_GEN2 model.teacher.checkpoint=GEN2_CKPT
# Set PYTHON to choose the interpreter (default: python).
set -euo pipefail

if [ $# -lt 3 ]; then
    sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
    exit 2
fi
CONFIG_GEN1=$1
CONFIG_GEN2=$2
WORK_DIR=$3
shift 3
for arg in "$@"; do
    if [ "$arg" = "--work-dir" ]; then
        echo "label_refinery.sh: do not pass --work-dir; WORK_DIR is the" \
             "third argument" >&2
        exit 2
    fi
done
PYTHON=${PYTHON:-python}
TRAIN="$(cd "$(dirname "$0")" && pwd)/train.py"

echo "label_refinery.sh: generation 1: $CONFIG_GEN1 -> $WORK_DIR/gen1"
"$PYTHON" "$TRAIN" "$CONFIG_GEN1" --work-dir "$WORK_DIR/gen1" "$@"

if [ ! -s "$WORK_DIR/gen1/last_checkpoint" ]; then
    echo "label_refinery.sh: generation 1 left no $WORK_DIR/gen1/" \
         "last_checkpoint; keep a CheckpointHook in CONFIG_GEN1" >&2
    exit 1
fi
CHECKPOINT=$(cat "$WORK_DIR/gen1/last_checkpoint")
TEACHER=("model.teacher.config=$CONFIG_GEN1"
         "model.teacher.checkpoint=$CHECKPOINT")

# Append the teacher to the user's --cfg-options if there is one (argparse
# keeps only the last --cfg-options), else add our own.
GEN2_ARGS=()
HAS_CFG_OPTIONS=0
for arg in "$@"; do
    GEN2_ARGS+=("$arg")
    if [ "$arg" = "--cfg-options" ]; then
        GEN2_ARGS+=("${TEACHER[@]}")
        HAS_CFG_OPTIONS=1
    fi
done
if [ $HAS_CFG_OPTIONS -eq 0 ]; then
    GEN2_ARGS+=(--cfg-options "${TEACHER[@]}")
fi

echo "label_refinery.sh: generation 2: $CONFIG_GEN2 -> $WORK_DIR/gen2," \
     "teacher $CHECKPOINT"
"$PYTHON" "$TRAIN" "$CONFIG_GEN2" --work-dir "$WORK_DIR/gen2" \
    "${GEN2_ARGS[@]}"
