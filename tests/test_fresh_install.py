"""What ``pip install .`` brings into a new virtual environment works: an
``mmpretrain::`` config loads and the tools start (setuptools stays below 81,
which MMEngine's ``pkg_resources`` import needs, and MMCV is there)."""
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def run(args, **kwargs):
    result = subprocess.run([str(a) for a in args], capture_output=True,
                            text=True, **kwargs)
    assert result.returncode == 0, \
        result.stdout[-2000:] + result.stderr[-3000:]
    return result


@pytest.mark.slow
def test_pip_install_into_a_new_venv_loads_mmpretrain_configs(tmp_path):
    # A new venv of the same Python, without this venv's packages: pip
    # resolves everything setup.py asks for (torch from this machine's
    # wheels, the rest from the package index). About 5 minutes here.
    source = tmp_path / 'source'
    shutil.copytree(
        ROOT, source,
        ignore=shutil.ignore_patterns('.venv', '.git', 'work_dirs', 'data',
                                      'build', '*.egg-info', '.mim',
                                      '__pycache__'))
    venv = tmp_path / 'venv'
    env = {k: v for k, v in os.environ.items()
           if k not in ('PYTHONPATH', 'VIRTUAL_ENV', 'PYTHONWARNINGS')}
    try:
        run([sys.executable, '-m', 'venv', venv], env=env)
        python = venv / 'bin' / 'python'
        run([python, '-m', 'pip', 'install', '-q', source], env=env,
            timeout=1500)
        versions = run([
            python, '-c', 'from importlib.metadata import version as v; '
            "print(v('setuptools'), v('mmcv-lite'))"
        ], env=env).stdout.split()
        assert int(versions[0].split('.')[0]) < 81, versions
        # MMPretrain's own config, through mmcolam's and its mmpretrain::
        # base, from outside the source tree; then the model builds.
        code = ('import mmcolam\n'
                'from mmengine.config import Config\n'
                'from mmpretrain.registry import MODELS\n'
                'import sys\n'
                'cfg = Config.fromfile(sys.argv[1])\n'
                'print(type(MODELS.build(cfg.model).head).__name__)\n')
        result = run([
            python, '-c', code,
            source / 'configs' / 'colam' / 'resnet50_imagenet.py'
        ], env=env, cwd=tmp_path)
        assert result.stdout.split() == ['COLAMHead']
        assert 'pkg_resources' not in result.stderr
        # The tools start (tools/dist_train.sh runs this check first).
        run([
            python, source / 'tools' / 'train.py',
            source / 'configs' / 'colam' / 'resnet50_imagenet.py',
            '--check-launch'
        ], env=env, cwd=tmp_path)
    finally:
        shutil.rmtree(venv, ignore_errors=True)  # 5 GB, most of it torch
