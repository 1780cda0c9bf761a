#!/usr/bin/env bash
# Test a checkpoint with GPUS processes on this node (torchrun); on a machine
# without CUDA the processes run on CPU with env_cfg.dist_cfg.backend='gloo'.
#
# Usage: bash tools/dist_test.sh CONFIG CHECKPOINT GPUS [tools/test.py options ...]
# Several nodes: NNODES, NODE_RANK, MASTER_ADDR and PORT as for dist_train.sh.
# PYTHON picks the interpreter.
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: $0 CONFIG CHECKPOINT GPUS [tools/test.py options ...]" >&2
    exit 2
fi
CONFIG=$1
if [ ! -f "$CONFIG" ]; then
    echo "$0: no config file $CONFIG" >&2
    exit 2
fi
CHECKPOINT=$2
GPUS=$3
shift 3
TOOLS=$(dirname "$0")

export PYTHONPATH="$TOOLS/..${PYTHONPATH:+:$PYTHONPATH}"
# A run that cannot start here (e.g. backend nccl without CUDA) stops now,
# with its reason in one line, rather than once in every process.
"${PYTHON:-python}" "$TOOLS/test.py" "$CONFIG" "$CHECKPOINT" \
    --launcher pytorch "$@" --check-launch
exec "${PYTHON:-python}" -m torch.distributed.run \
    --nnodes="${NNODES:-1}" \
    --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" \
    --master_port="${PORT:-29500}" \
    --nproc_per_node="$GPUS" \
    "$TOOLS/test.py" "$CONFIG" "$CHECKPOINT" --launcher pytorch "$@"
