# What tools/slurm_train.sh and tools/slurm_test.sh share; both source it.
#
# slurm_launch TOOL ARG_NAME ARG_PREFIX PARTITION JOB_NAME CONFIG ARG [options]
# checks the arguments (the usage line names ARG as ARG_NAME) and that CONFIG
# exists, then starts tools/TOOL CONFIG ARG_PREFIXARG --launcher=slurm
# [options] under srun, one task per GPU: GPUS tasks (default 8),
# GPUS_PER_NODE per node (8), CPUS_PER_TASK CPUs each (5), SRUN_ARGS added to
# srun's options, PYTHON the interpreter.
slurm_launch() {
    local tool=$1 arg_name=$2 arg_prefix=$3
    shift 3
    if [ $# -lt 4 ]; then
        echo "usage: $0 PARTITION JOB_NAME CONFIG $arg_name [tools/$tool options ...]" >&2
        exit 2
    fi
    local partition=$1 job_name=$2 config=$3 arg=$4
    shift 4
    if [ ! -f "$config" ]; then
        echo "$0: no config file $config" >&2
        exit 2
    fi
    local gpus=${GPUS:-8} gpus_per_node=${GPUS_PER_NODE:-8}
    local tools
    tools=$(dirname "$0")
    set -x

    # SRUN_ARGS is split into words on purpose: it holds several srun options.
    # shellcheck disable=SC2086
    PYTHONPATH="$tools/..${PYTHONPATH:+:$PYTHONPATH}" \
    srun -p "$partition" \
        --job-name="$job_name" \
        --gres=gpu:"$gpus_per_node" \
        --ntasks="$gpus" \
        --ntasks-per-node="$gpus_per_node" \
        --cpus-per-task="${CPUS_PER_TASK:-5}" \
        --kill-on-bad-exit=1 \
        ${SRUN_ARGS:-} \
        "${PYTHON:-python}" -u "$tools/$tool" "$config" "$arg_prefix$arg" \
        --launcher=slurm "$@"
}
