#!/usr/bin/env bash
# Train on a Slurm cluster: one task per GPU, started by srun.
#
# Usage: [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS=...] \
#        bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR \
#        [tools/train.py options ...]
# PYTHON picks the interpreter.
set -euo pipefail
# shellcheck source=tools/slurm_launch.sh
source "$(dirname "$0")/slurm_launch.sh"
slurm_launch train.py WORK_DIR --work-dir= "$@"
