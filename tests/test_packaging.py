"""A non-editable install carries what MIM and MMPretrain's model hub read
(``mmcolam/.mim``: the configs, the tools, the model index and the published
weights), as MMPretrain's packages do; and what ``pip install .`` brings into
a new virtual environment works: an ``mmpretrain::`` config loads, the tools
start (setuptools stays below 81, which MMEngine's ``pkg_resources`` import
needs, and MMCV is there) and a published model loads by name."""
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest
import yaml
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def copy_source(tmp_path):
    """A copy of the source tree to build from, so that the build leaves
    the checkout as it is."""
    source = tmp_path / 'source'
    shutil.copytree(
        ROOT, source,
        ignore=shutil.ignore_patterns('.venv', '.git', 'work_dirs', 'data',
                                      'build', '*.egg-info', '.mim',
                                      '__pycache__'))
    return source


def test_wheel_install_carries_configs_tools_and_model_index(tmp_path):
    source = copy_source(tmp_path)
    target = tmp_path / 'site'
    subprocess.run([
        sys.executable, '-m', 'pip', 'install', '-q', '--no-deps',
        '--no-build-isolation', '--target', str(target), str(source)
    ], check=True, capture_output=True, timeout=300)
    mim = target / 'mmcolam' / '.mim'
    assert not (mim / 'configs').is_symlink()
    with open(mim / 'model-index.yml') as f:
        index = yaml.safe_load(f)
    assert index == {'Import': ['configs/colam/metafile.yml']}
    with open(mim / 'configs' / 'colam' / 'metafile.yml') as f:
        models = yaml.safe_load(f)['Models']
    for model in models:  # every config and weight the index lists
        assert (mim / model['Config']).is_file(), model['Config']
        if 'Weights' in model:
            assert (mim / model['Weights']).is_file(), model['Weights']
            config = model['Weights'][:-len('.pth')] + '.py'
            assert (mim / config).is_file(), config
    assert (mim / 'tools' / 'train.py').is_file()
    # and the tools' subfolders, laid out as MMPretrain's
    for tool in ('analysis_tools/benchmark.py',
                 'analysis_tools/regime_study.py',
                 'model_converters/publish_model.py'):
        assert (mim / 'tools' / tool).is_file(), tool
    cfg = Config.fromfile(
        str(mim / 'configs' / 'colam' / 'resnet50_imagenet.py'))
    assert cfg.model.head.type == 'COLAMHead'


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
    source = copy_source(tmp_path)
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
        # A published model loads by name with the weights the wheel
        # carries.
        result = run([
            python, '-c', 'import mmcolam, mmpretrain; '
            "m = mmpretrain.get_model('smallconvnet_1xb128-colam_fashion-"
            "mnist', pretrained=True); print(m._metainfo.weights)"
        ], env=env, cwd=tmp_path)
        assert '/site-packages/mmcolam/.mim/weights/' in result.stdout
        # The tools start (tools/dist_train.sh runs this check first).
        run([
            python, source / 'tools' / 'train.py',
            source / 'configs' / 'colam' / 'resnet50_imagenet.py',
            '--check-launch'
        ], env=env, cwd=tmp_path)
    finally:
        shutil.rmtree(venv, ignore_errors=True)  # 5 GB, most of it torch
