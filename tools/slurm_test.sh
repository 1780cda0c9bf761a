#!/usr/bin/env bash
# Test a checkpoint on a Slurm cluster: one task per GPU, started by srun.
#
# Usage: [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS=...] \
#        bash tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT \
#        [tools/test.py options ...]
# PYTHON picks the interpreter.
set -euo pipefail
# shellcheck source=tools/slurm_launch.sh
source "$(dirname "$0")/slurm_launch.sh"
slurm_launch test.py CHECKPOINT '' "$@"
