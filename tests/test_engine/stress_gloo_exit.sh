#!/usr/bin/env bash
# Stress the exit of a two-process gloo run (#19 item 4), outside the test
# suite: resume the fake-data COLAM run of tests/test_tools/test_resume_kill.py
# (resample peers, an update after every epoch) from epoch_3.pth to epoch 6
# with tools/dist_train.sh, N times, and count the runs that fail (exit status
# not 0, or "terminate called" in the log). The cores are shared: run it
# niced.
#
# Usage: nice -n 10 bash tests/test_engine/stress_gloo_exit.sh [N (30)]
#        [OUT_DIR (mktemp)]
set -uo pipefail
N=${1:-30}
OUT=${2:-$(mktemp -d)}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
export PYTHON=${PYTHON:-$REPO/.venv/bin/python}
export PYTHONPATH=$REPO OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
export PYTHONWARNINGS=ignore
free_port() {
    "$PYTHON" -c "from tests.helpers.tool_runs import free_port
print(free_port())"
}
mkdir -p "$OUT"
"$PYTHON" - "$OUT" <<'EOF'
import pathlib
import sys

from tests.helpers.runner_config import colam_config
from tests.helpers.tool_runs import write_config

out = pathlib.Path(sys.argv[1])
cfg = colam_config(out, max_epochs=6, hook=dict(interval=1, num_peers=5))
cfg['default_hooks']['checkpoint'] = dict(type='CheckpointHook', interval=1)
write_config(cfg, out / 'config.py')
EOF
PORT=$(free_port) bash "$REPO/tools/dist_train.sh" "$OUT/config.py" 2 \
    --work-dir "$OUT/base" > "$OUT/base.log" 2>&1 ||
    { echo "the first run failed: $OUT/base.log" >&2; exit 1; }
failures=0
for i in $(seq 1 "$N"); do
    run=$OUT/run$i
    mkdir -p "$run"
    cp "$OUT/base/epoch_3.pth" "$run/"
    PORT=$(free_port) bash "$REPO/tools/dist_train.sh" "$OUT/config.py" 2 \
        --work-dir "$run" --resume "$run/epoch_3.pth" > "$run/log" 2>&1
    status=$?
    if [ $status -ne 0 ] || grep -q "terminate called" "$run/log"; then
        failures=$((failures + 1))
        echo "run $i: exit status $status, log $run/log"
    else
        rm -rf "$run"
    fi
done
echo "$N runs, $failures failed ($OUT)"
[ $failures -eq 0 ]
