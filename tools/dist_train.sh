#!/usr/bin/env bash
# Train with GPUS processes on this node (torchrun), one per GPU, or on CPU
# with env_cfg.dist_cfg.backend='gloo' on a machine without CUDA.
#
# Usage: bash tools/dist_train.sh CONFIG GPUS [tools/train.py options ...]
# Several nodes: run it on every node with NNODES, NODE_RANK, MASTER_ADDR and
# PORT set alike (NODE_RANK 0 .. NNODES-1). PYTHON picks the interpreter.
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 CONFIG GPUS [tools/train.py options ...]" >&2
    exit 2
fi
CONFIG=$1
if [ ! -f "$CONFIG" ]; then
    echo "$0: no config file $CONFIG" >&2
    exit 2
fi
GPUS=$2
shift 2
TOOLS=$(dirname "$0")

export PYTHONPATH="$TOOLS/..${PYTHONPATH:+:$PYTHONPATH}"
# A run that cannot start here (e.g. backend nccl without CUDA) stops now,
# with its reason in one line, rather than once in every process.
"${PYTHON:-python}" "$TOOLS/train.py" "$CONFIG" --launcher pytorch "$@" \
    --check-launch
exec "${PYTHON:-python}" -m torch.distributed.run \
    --nnodes="${NNODES:-1}" \
    --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" \
    --master_port="${PORT:-29500}" \
    --nproc_per_node="$GPUS" \
    "$TOOLS/train.py" "$CONFIG" --launcher pytorch "$@"
