"""Every config under configs/ follows the repository's conventions and says
what the paper, MMPretrain's recipes and the model zoo (configs/colam/
README.md, metafile.yml) say; static checks, nothing is built.

The configs and the helpers that read them are in
tests/helpers/config_cases.py; tests/test_configs/test_config_training.py
builds and trains them.
"""
import functools
import inspect
import os.path as osp
import re

import pytest
import yaml
from mmengine.config import Config
from mmpretrain.registry import DATA_SAMPLERS

import mmcolam  # noqa: F401  (registers mmcolam's components)
from mmcolam.models.heads import COLAMHead
from tests.helpers.config_cases import (ALIASES, CONFIG_ROOT, CONFIGS,
                                        DATA_NAMES, METAFILE,
                                        MMPRETRAIN_CONFIGS, NAME, README, ROOT,
                                        RUNNER_CONFIGS, cached_model_index,
                                        data_in_name, dataset_type,
                                        load_config, plain, soft_label_hooks)


@pytest.fixture(scope='module', autouse=True)
def fast_config_loading():
    """Parse MMPretrain's model index once for all configs."""
    with cached_model_index():
        yield


def test_configs_are_found():
    assert 'baselines/smallconvnet_1xb128-hl_fashion-mnist.py' in CONFIGS
    assert 'colam/preact-resnet34_1xb64-colam_cifar100.py' in CONFIGS
    assert not any(name.startswith('_base_') for name in CONFIGS)
    assert set(RUNNER_CONFIGS) <= set(CONFIGS)


@pytest.mark.parametrize('alias, target', ALIASES.items())
def test_alias_is_its_target_config(alias, target):
    assert plain(load_config(alias)._cfg_dict) == \
        plain(load_config(target)._cfg_dict)
    with open(osp.join(CONFIG_ROOT, alias)) as f:
        code = [line for line in f if not line.startswith('#')]
    assert code == [f"_base_ = ['./{osp.basename(target)}']\n"]


@pytest.mark.parametrize('name', CONFIGS)
def test_config_follows_conventions(name):
    """custom_imports, AugmentationSeedHook, the name scheme
    (tools/analysis_tools/benchmark.py reads the method from it), the
    method's head and loss, and a batch that matches both the name and
    auto_scale_lr."""
    cfg = load_config(name)
    assert 'mmcolam' in cfg.custom_imports['imports']
    assert cfg.custom_imports.get('allow_failed_imports') is False
    # Resume repeats the random augmentation (README, Resume).
    assert cfg.default_hooks.sampler_seed.type == 'AugmentationSeedHook'
    match = NAME.match(osp.basename(name))
    assert match, f'{name} does not follow {{model}}_[{{pretrain}}-pre_]' \
        '{gpus}xb{batch}-{method}_{dataset}.py'
    gpus, batch = int(match['gpus']), int(match['batch'])
    assert cfg.train_dataloader.batch_size == batch
    assert cfg.auto_scale_lr.base_batch_size == gpus * batch
    head, method = cfg.model.head, match['method']
    loss = head.get('loss', {}).get('type')
    hooks = soft_label_hooks(cfg)
    expected_heads = {
        'hl': ('LinearClsHead', 'CrossEntropyLoss'),
        'ls': ('LinearClsHead', 'LabelSmoothLoss'),
        'cp': ('LinearClsHead', 'ConfidencePenaltyLoss'),
        'dl': ('LinearClsHead', 'DisturbLabelLoss'),
        'colam': ('COLAMHead', 'CrossEntropyLoss'),
        'colam-paper': ('COLAMHead', 'CrossEntropyLoss'),
        'cskd': ('CSKDHead', 'CrossEntropyLoss'),
    }
    is_colam = method in ('colam', 'colam-paper')
    if method in expected_heads:
        assert (head.type, loss) == expected_heads[method]
        assert bool(hooks) == is_colam
    if method == 'hl':
        assert not head.loss.get('use_soft', False)
    if method == 'ls':
        assert head.loss.label_smooth_val == 0.1
        assert head.loss.mode == 'original'
    if method in ('cp', 'dl'):  # the losses' defaults
        assert set(head.loss) - {'_scope_'} == {'type'}
    if method == 'cskd':
        assert cfg.train_dataloader.sampler.type == 'ClassPairSampler'
    if head.type == 'COLAMHead':
        assert head.loss.get('use_soft') is True
    if method in expected_heads:
        assert name.startswith('colam/') == is_colam
    if method == 'colam-paper':  # the paper's target, without the guard
        assert head.target == 'paper' and head.get('hard_label_weight',
                                                   0) == 0
        # The hook takes what follows from the head: no guard, the head's T.
        assert set(hooks[0]) <= {'type', 'interval', 'num_peers'}
    if is_colam:
        # The paper's recommendations (Section 5.3): T in [1, 2], K >= 5
        # (None: every sample of the class), a stage shorter than the run.
        default = inspect.signature(COLAMHead).parameters['temperature']
        assert 1 <= head.get('temperature', default.default) <= 2
        (hook, ) = hooks
        num_peers = hook.get('num_peers', 100)
        assert num_peers is None or num_peers >= 5
        assert hook.interval < cfg.train_cfg.max_epochs
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert DATA_SAMPLERS.get(cfg[loader].sampler.type) is not None


@pytest.mark.parametrize(
    'name', [n for n in CONFIGS if data_in_name(n) in ('cifar10', 'cifar100')])
def test_cifar_configs_use_the_paper_settings(name):
    """Section 4.2: SGD lr 0.1, momentum 0.9, weight decay 1e-4, batch 64
    on one GPU, 160 epochs (DenseNet-BC-100: 240), pad-4 random crop and
    horizontal flip; our lr decay: / 10 at 50 % and 75 % of training."""
    cfg = load_config(name)
    assert dataset_type(cfg) == ('CIFAR100'
                                 if name.endswith('100.py') else 'CIFAR10')
    optimizer = cfg.optim_wrapper.optimizer
    assert (optimizer.type, optimizer.lr, optimizer.momentum,
            optimizer.weight_decay) == ('SGD', 0.1, 0.9, 1e-4)
    anchors = cfg.train_dataloader.batch_size
    if cfg.train_dataloader.sampler.type == 'ClassPairSampler':
        anchors //= 2  # CS-KD: 64 (anchor, partner) pairs a step
    assert anchors == 64
    epochs = 240 if 'densenet' in name else 160
    assert cfg.train_cfg.max_epochs == epochs
    scheduler = cfg.param_scheduler
    assert (scheduler.type, scheduler.milestones, scheduler.gamma,
            scheduler.by_epoch) == ('MultiStepLR',
                                    [epochs // 2, epochs * 3 // 4], 0.1, True)
    assert plain(cfg.train_dataloader.dataset.pipeline) == [
        dict(type='RandomCrop', crop_size=32, padding=4),
        dict(type='RandomFlip', prob=0.5, direction='horizontal'),
        dict(type='PackInputs'),
    ]
    assert [t.type for t in cfg.test_dataloader.dataset.pipeline] == \
        ['PackInputs']
    num_classes = 100 if name.endswith('100.py') else 10
    assert cfg.model.head.num_classes == num_classes
    assert cfg.data_preprocessor.num_classes == num_classes


@pytest.mark.parametrize('name', [n for n in CONFIGS if '-pre_' in n])
def test_transfer_configs_start_from_mmpretrain_resnet101(name):
    """Section 4.2: ResNet-101 from ImageNet weights, 40 epochs, SGD lr
    0.01, momentum 0.9, weight decay 1e-4, batch 64, ImageNet augmentation.
    The checkpoint is the one MMPretrain's model zoo lists for
    resnet101_8xb32_in1k."""
    cfg = load_config(name)
    with open(osp.join(MMPRETRAIN_CONFIGS, 'resnet', 'metafile.yml')) as f:
        zoo = {m['Name']: m for m in yaml.safe_load(f)['Models']}
    init_cfg = cfg.model.backbone.init_cfg
    assert (init_cfg.type, init_cfg.prefix) == ('Pretrained', 'backbone')
    assert init_cfg.checkpoint == zoo['resnet101_8xb32_in1k']['Weights']
    assert (cfg.model.backbone.type, cfg.model.backbone.depth) == \
        ('ResNet', 101)
    optimizer = cfg.optim_wrapper.optimizer
    assert (optimizer.type, optimizer.lr, optimizer.momentum,
            optimizer.weight_decay) == ('SGD', 0.01, 0.9, 1e-4)
    assert cfg.train_dataloader.batch_size == 64
    assert cfg.train_cfg.max_epochs == 40
    assert [t.type for t in cfg.train_dataloader.dataset.pipeline] == [
        'LoadImageFromFile', 'RandomResizedCrop', 'RandomFlip', 'PackInputs'
    ]
    assert cfg.train_dataloader.dataset.pipeline[1].scale == 224
    classes = {'Flowers102': 102, 'CUB': 200, 'FGVCAircraft': 100, 'DTD': 47}
    num_classes = classes[dataset_type(cfg)]
    assert cfg.model.head.num_classes == num_classes
    assert cfg.data_preprocessor.num_classes == num_classes
    assert cfg.test_dataloader.dataset.split == 'test'


@pytest.mark.parametrize('name',
                         [n for n in CONFIGS if data_in_name(n) == 'in1k'])
def test_imagenet_configs_keep_mmpretrain_recipe(name):
    """MMPretrain's ResNet recipe: SGD lr 0.1 (for 256 images), momentum
    0.9, weight decay 1e-4, 100 epochs, / 10 at 30, 60, 90."""
    cfg = load_config(name)
    depth = int(re.match(r'resnet(\d+)_', osp.basename(name))[1])
    recipe = Config.fromfile(
        osp.join(MMPRETRAIN_CONFIGS, 'resnet', f'resnet{depth}_8xb32_in1k.py'))
    for key in ('model.backbone', 'optim_wrapper', 'param_scheduler',
                'train_cfg', 'train_dataloader.dataset.pipeline',
                'test_dataloader.dataset.pipeline'):
        path = key.split('.')
        assert plain(functools.reduce(getattr, path, cfg)) == \
            plain(functools.reduce(getattr, path, recipe)), key
    anchors = cfg.train_dataloader.batch_size
    if cfg.train_dataloader.sampler.type == 'ClassPairSampler':
        anchors //= 2
    assert anchors == recipe.train_dataloader.batch_size


def test_metafile_and_readme_list_every_model_zoo_config():
    """metafile.yml lists every config of configs/colam and
    configs/baselines once, with metadata that matches the config, results
    only of weights we publish, and README.md shows each with the same
    number."""
    with open(METAFILE) as f:
        meta = yaml.safe_load(f)
    collections = {c['Name'] for c in meta['Collections']}
    listed = [m['Config'] for m in meta['Models']]
    assert len(listed) == len(set(listed))
    zoo_configs = {
        f'configs/{n}'
        for n in CONFIGS if n.split('/')[0] in ('colam', 'baselines')
    }
    assert not zoo_configs - set(listed), 'add these to metafile.yml'
    assert not set(listed) - zoo_configs, 'these configs do not exist'
    with open(README) as f:
        readme_rows = {
            re.search(r'\(([^)]+\.py)\)', line)[1]: line
            for line in f if re.search(r'\(([^)]+\.py)\)', line)
        }
    readme_rows = {osp.basename(k): v for k, v in readme_rows.items()}
    for model in meta['Models']:
        name = osp.relpath(model['Config'], 'configs')
        match = NAME.match(osp.basename(name))
        assert model['Name'] == osp.basename(name)[:-3]
        assert model['In Collection'] in collections
        cfg = load_config(name)
        metadata = model['Metadata']
        assert metadata['Training Data'] == DATA_NAMES[dataset_type(cfg)]
        assert metadata['Epochs'] == cfg.train_cfg.max_epochs
        assert metadata['Batch Size'] == \
            int(match['gpus']) * int(match['batch'])
        row = readme_rows[osp.basename(name)]
        for result in model.get('Results', []):
            assert result['Dataset'] == metadata['Training Data']
            top1 = result['Metrics']['Top 1 Accuracy']
            assert 0 < top1 < 100
            # Only our own numbers: of the published weights (test_model_zoo
            # checks it), in the README's last column; the paper's are in
            # the README only.
            assert result['Source'].startswith('ours')
            assert osp.isfile(osp.join(ROOT, model['Weights']))
            assert row.rstrip().endswith(f'| {top1:.2f} |'), row
