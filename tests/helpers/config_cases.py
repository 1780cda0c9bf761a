"""The configs under configs/ and helpers that read them, shared by
tests/test_configs/test_configs.py (static checks) and
tests/test_configs/test_config_training.py (training steps), for tests.

Configs are found by globbing (``configs/_base_`` excluded), so configs added
later are covered too.
"""
import contextlib
import copy
import functools
import glob
import os
import os.path as osp
import re

import pytest
import yaml
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_ROOT = osp.join(ROOT, 'configs')
# Short names the READMEs use for a config, which they inherit unchanged.
ALIASES = {
    'colam/resnet50_imagenet.py': 'colam/resnet50_8xb32-colam_in1k.py',
}
CONFIGS = sorted(
    osp.relpath(path, CONFIG_ROOT)
    for path in glob.glob(osp.join(CONFIG_ROOT, '**', '*.py'), recursive=True)
    if '_base_' not in osp.relpath(path, CONFIG_ROOT).split(os.sep)
    and osp.relpath(path, CONFIG_ROOT) not in ALIASES)
MMPRETRAIN_CONFIGS = osp.join(
    osp.dirname(__import__('mmpretrain').__file__), '.mim', 'configs')

# Data sets of small images and the fake copy each is read from here.
SMALL_DATASETS = {
    'CIFAR10': 'UncheckedCIFAR10',
    'CIFAR100': 'UncheckedCIFAR100',
    'FashionMNISTGz': 'FashionMNISTGz',  # reads the unpacked fake files
    'CustomDataset': 'CustomDataset',  # the tiny glyph version
}
# The COLAM configs that run end to end through the Runner: one network per
# data set (the other SoftLabelHook configs get a single step and update).
RUNNER_CONFIGS = [
    'colam/wide-resnet40-4_1xb64-colam_cifar10.py',
    'colam/preact-resnet18_1xb64-colam_cifar100.py',
    'colam/smallconvnet_1xb128-colam_fashion-mnist.py',
    'colam/smallconvnet_1xb128-colam_glyphs.py',
]
METAFILE = osp.join(CONFIG_ROOT, 'colam', 'metafile.yml')
README = osp.join(CONFIG_ROOT, 'colam', 'README.md')
# The metafile's Training Data of each dataset type.
DATA_NAMES = {
    'CIFAR10': 'CIFAR-10',
    'CIFAR100': 'CIFAR-100',
    'ImageNet': 'ImageNet-1k',
    'Flowers102': 'Flowers-102',
    'CUB': 'CUB-200-2011',
    'FGVCAircraft': 'FGVC-Aircraft',
    'DTD': 'DTD',
    'FashionMNISTGz': 'Fashion-MNIST',
    # CustomDataset folders: only the glyph data set's configs use them.
    'CustomDataset': 'Glyphs',
}
NAME = re.compile(r'^(?P<model>[^_]+)_(?:[^_]+-pre_)?(?P<gpus>\d+)xb'
                  r'(?P<batch>\d+)'
                  r'-(?P<method>[^_]+)_(?P<data>[^_]+)\.py$')


def data_in_name(name):
    match = NAME.match(osp.basename(name))
    return match['data'] if match else None


# Configs by input size, from the data set in their names (the tests check
# it against the config).
SMALL_CONFIGS = [
    n for n in CONFIGS
    if data_in_name(n) in ('cifar10', 'cifar100', 'fashion-mnist', 'glyphs')
]
LARGE_CONFIGS = [n for n in CONFIGS if n not in SMALL_CONFIGS]


@contextlib.contextmanager
def cached_model_index():
    """Parse MMPretrain's model index once, not once per ``mmpretrain::``
    base (MMEngine re-reads its 250 YAML files each time: ~0.3 s)."""
    import mmengine.config.config as config_module
    import mmengine.config.utils as config_utils
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(config_utils, 'load',
                      functools.lru_cache(maxsize=None)(config_utils.load))
        patch.setattr(
            config_module, 'is_installed',
            functools.lru_cache(maxsize=None)(config_module.is_installed))
        yield


@functools.lru_cache(maxsize=None)
def _load(name):
    return Config.fromfile(osp.join(CONFIG_ROOT, name))


def load_config(name):
    """A fresh copy of the config, with its model's data preprocessor set
    from the top-level ``data_preprocessor`` as the Runner does."""
    cfg = copy.deepcopy(_load(name))
    if cfg.get('data_preprocessor') is not None:
        cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
    return cfg


@functools.lru_cache(maxsize=None)
def zoo():
    """configs/colam/metafile.yml's models by config name (as in CONFIGS)."""
    with open(METAFILE) as f:
        meta = yaml.safe_load(f)
    return {
        osp.relpath(model['Config'], 'configs'): model
        for model in meta['Models']
    }


def check_parameter_count(name, model):
    """The metafile's Parameters are the built model's."""
    listed = zoo().get(name, {}).get('Metadata', {}).get('Parameters')
    if listed is not None:
        assert sum(p.numel() for p in model.parameters()) == listed


def plain(obj):
    """Config values as plain dicts and lists, without the ``_scope_`` keys
    that ``mmpretrain::`` bases add."""
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items() if k != '_scope_'}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    return obj


def dataset_type(cfg):
    return cfg.train_dataloader.dataset.type


def is_small(cfg):
    return dataset_type(cfg) in SMALL_DATASETS


def reads_image_files(cfg):
    pipeline = cfg.train_dataloader.dataset.get('pipeline') or [{}]
    return pipeline[0].get('type') == 'LoadImageFromFile'


def soft_label_hooks(cfg):
    return [h for h in cfg.get('custom_hooks', [])
            if h['type'] == 'SoftLabelHook']


def other_hooks(cfg):
    return [h for h in cfg.get('custom_hooks', [])
            if h['type'] != 'SoftLabelHook']
