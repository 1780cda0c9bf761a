"""A non-editable install carries what MIM and MMPretrain's model hub read
(``mmcolam/.mim``: the configs, the tools, the model index and the published
weights), as MMPretrain's packages do."""
import os.path as osp
import shutil
import subprocess
import sys

import yaml
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def test_wheel_install_carries_configs_tools_and_model_index(tmp_path):
    # Built from a copy, so that the build leaves the checkout as it is.
    source = tmp_path / 'source'
    shutil.copytree(
        ROOT, source,
        ignore=shutil.ignore_patterns('.venv', '.git', 'work_dirs', 'data',
                                      'build', '*.egg-info', '.mim',
                                      '__pycache__'))
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
