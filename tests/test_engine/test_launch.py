"""What a distributed launch prints: a run that cannot start says why in one
line, once per job; a 2-process run shows no upstream warning that a
1-process run does not."""
import argparse
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from mmcolam.engine.launch import RANK_VARIABLES, launch_or_exit
from tests.helpers.runner_config import colam_config
from tests.helpers.tool_runs import REPO, TOOLS, free_port, write_config

NCCL_REASON = ("train.py: error: env_cfg.dist_cfg.backend='nccl' needs CUDA "
               "devices, and this machine has none: use backend='gloo' (e.g. "
               '--cfg-options env_cfg.dist_cfg.backend=gloo)')

pytestmark = pytest.mark.skipif(torch.cuda.is_available(),
                                reason='launches on CPU')


def launch_env():
    """A user's environment: no PYTHONWARNINGS, no MKL_NUM_THREADS."""
    env = {k: v for k, v in os.environ.items()
           if k not in ('PYTHONWARNINGS', 'MKL_NUM_THREADS')}
    env.update(PYTHON=sys.executable, PORT=str(free_port()),
               PYTHONPATH=REPO)
    return env


def launch(args, timeout=300):
    return subprocess.run([str(a) for a in args], cwd=REPO, env=launch_env(),
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope='module')
def config(tmp_path_factory):
    """A 2-epoch COLAM run with the backend of MMPretrain's configs, nccl."""
    tmp = tmp_path_factory.mktemp('launch')
    cfg = colam_config(tmp, max_epochs=2)
    cfg['env_cfg']['dist_cfg']['backend'] = 'nccl'
    return write_config(cfg, tmp / 'config.py')


def test_dist_train_without_cuda_says_why_in_one_line(config):
    result = launch(['bash', osp.join(TOOLS, 'dist_train.sh'), config, '8'])
    assert result.returncode == 2
    assert result.stdout == ''
    assert result.stderr.splitlines() == [NCCL_REASON]


def test_dist_test_without_cuda_says_why_in_one_line(config):
    result = launch(['bash', osp.join(TOOLS, 'dist_test.sh'), config,
                     'missing.pth', '2'])
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        NCCL_REASON.replace('train.py', 'test.py')]


def test_torchrun_without_cuda_says_why_once(config):
    # Without dist_train.sh's check: every rank finds the problem, rank 0
    # alone says it.
    result = launch([
        sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
        f'--master_port={free_port()}',
        osp.join(TOOLS, 'train.py'), config, '--launcher', 'pytorch'
    ])
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert output.count('needs CUDA devices') == 1, output
    assert NCCL_REASON in output.splitlines()
    assert output.count('Traceback') == 1  # torchrun's own, no rank's


def test_two_process_run_has_no_upstream_warnings(config, tmp_path):
    result = launch([
        'bash', osp.join(TOOLS, 'dist_train.sh'), config, '2', '--work-dir',
        tmp_path, '--cfg-options', 'env_cfg.dist_cfg.backend=gloo'
    ])
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert (tmp_path / 'soft_labels' / 'epoch_1.npy').is_file()
    for noise in ('MKL_NUM_THREADS', 'broadcast_buffers', 'Warning:'):
        assert noise not in output, noise


@pytest.mark.parametrize('env, prints', [
    ({}, True), ({'SLURM_PROCID': '0'}, True), ({'SLURM_PROCID': '3'}, False),
    ({'RANK': '1', 'SLURM_PROCID': '0'}, False),
    ({'OMPI_COMM_WORLD_RANK': '2'}, False)])
def test_only_global_rank_0_says_why(env, prints, monkeypatch, capsys):
    for name in RANK_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, 'argv', ['tools/train.py'])
    cfg = Config(dict(launcher='slurm'))
    with pytest.raises(SystemExit) as exit_info:
        launch_or_exit(cfg, argparse.Namespace(check_launch=False))
    assert exit_info.value.code == 2
    stderr = capsys.readouterr().err
    assert stderr.startswith('train.py: error: --launcher slurm needs CUDA') \
        if prints else stderr == ''
