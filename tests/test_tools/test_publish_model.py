"""tools/model_converters/publish_model.py: a COLAM checkpoint becomes a
plain MMPretrain one that MMPretrain loads, infers and tests with, in an
interpreter that never imports mmcolam, predicting exactly as the COLAM
model."""
import datetime
import hashlib
import json
import os
import os.path as osp
import subprocess
import sys

import mmpretrain
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmpretrain.registry import MODELS

from tests.helpers.fake_data import read_idx
from tests.helpers.runner_config import fashion_mnist_config
from tests.helpers.tool_runs import REPO, load_tool

ROOT = REPO
MMPRETRAIN_TEST_TOOL = osp.join(
    osp.dirname(mmpretrain.__file__), '.mim', 'tools', 'test.py')

# Runs in a fresh interpreter: MMPretrain only, then proves mmcolam was never
# imported.
CLEAN_SCRIPT = r'''
import json, pickle, runpy, sys
assert 'mmcolam' not in sys.modules
import numpy as np
import torch
torch.set_num_threads(1)
from mmpretrain import ImageClassificationInferencer

config, checkpoint, images, out_dir, test_tool = sys.argv[1:]
inferencer = ImageClassificationInferencer(
    model=config, pretrained=checkpoint, device='cpu')
batch = list(np.load(images))
results = inferencer(batch, batch_size=len(batch))
np.save(out_dir + '/inferencer_scores.npy',
        np.stack([r['pred_scores'] for r in results]))
# MMPretrain's own tools/test.py, predictions dumped with --out.
sys.argv = [test_tool, config, checkpoint, '--work-dir',
            out_dir + '/test_work_dir', '--out', out_dir + '/test.pkl']
runpy.run_path(test_tool, run_name='__main__')
with open(out_dir + '/test.pkl', 'rb') as f:
    dumped = pickle.load(f)
np.save(out_dir + '/test_scores.npy',
        np.stack([np.asarray(d['pred_score']) for d in dumped]))
print('RESULT ' + json.dumps(dict(
    mmcolam_imported='mmcolam' in sys.modules,
    head=type(inferencer.model.head).__name__)))
'''


@pytest.fixture(scope='module')
def colam_checkpoint(tmp_path_factory):
    """A COLAM model built from MMPretrain parts only (a one-stage ResNet and
    global average pooling), trained two epochs with an update after the
    first, as a config file with mmcolam in custom_imports."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny model on two shared cores
    tmp_path = tmp_path_factory.mktemp('colam_publish')
    cfg = fashion_mnist_config(
        tmp_path,
        head=dict(type='COLAMHead', temperature=2.0, in_channels=8),
        loss=dict(type='CrossEntropyLoss', use_soft=True),
        max_epochs=2,
        batch_size=25)
    cfg['model']['backbone'] = dict(
        type='ResNet', depth=18, in_channels=1, stem_channels=8,
        base_channels=8, num_stages=1, strides=(1, ), dilations=(1, ),
        out_indices=(0, ))
    cfg['model']['neck'] = dict(type='GlobalAveragePooling')
    cfg['train_dataloader']['dataset']['indices'] = 100
    cfg['custom_hooks'] = [dict(type='SoftLabelHook', interval=1,
                                num_peers=5, keep_true_class_top=False)]
    cfg['custom_imports'] = dict(imports=['mmcolam'],
                                 allow_failed_imports=False)
    cfg['default_hooks']['checkpoint'] = dict(type='CheckpointHook',
                                              interval=2)
    cfg['experiment_name'] = 'publish_model_colam'
    config = str(tmp_path / 'resnet_1xb25-colam_fashion-mnist.py')
    Config(cfg).dump(config)
    runner = Runner.from_cfg(Config.fromfile(config))
    runner.train()
    accuracy = runner.test()['accuracy/top1']
    torch.set_num_threads(previous)
    return dict(config=config,
                checkpoint=osp.join(runner.work_dir, 'epoch_2.pth'),
                accuracy=accuracy,
                data_root=str(tmp_path / 'fashion_mnist'),
                soft_labels=runner.model.head.soft_labels.clone())


@pytest.fixture(scope='module')
def published(colam_checkpoint, tmp_path_factory):
    out_dir = str(tmp_path_factory.mktemp('published'))
    paths = load_tool('model_converters/publish_model').main(
        [colam_checkpoint['config'], colam_checkpoint['checkpoint'], out_dir])
    return paths


def test_published_files(colam_checkpoint, published):
    checkpoint = published['checkpoint']
    with open(checkpoint, 'rb') as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    date = datetime.datetime.now().strftime('%Y%m%d')
    stem = osp.splitext(checkpoint)[0]
    assert osp.basename(stem) in {
        f'resnet_1xb25-colam_fashion-mnist_{d}-{sha[:8]}'
        for d in (date, (datetime.datetime.now() -
                         datetime.timedelta(days=1)).strftime('%Y%m%d'))}
    assert published['soft_labels'] == stem + '_soft_labels.npy'
    assert published['config'] == stem + '.py'
    # Weights only, loadable without unpickling any object.
    plain = torch.load(checkpoint, map_location='cpu', weights_only=True)
    assert sorted(plain) == ['meta', 'state_dict']
    original = torch.load(colam_checkpoint['checkpoint'], map_location='cpu',
                          weights_only=False)['state_dict']
    assert 'head.soft_labels' not in plain['state_dict']
    assert sorted(plain['state_dict']) == sorted(
        k for k in original if k != 'head.soft_labels')
    for key, value in plain['state_dict'].items():
        assert torch.equal(value, original[key]), key
    np.testing.assert_array_equal(
        np.load(published['soft_labels']),
        original['head.soft_labels'].numpy())
    torch.testing.assert_close(original['head.soft_labels'],
                               colam_checkpoint['soft_labels'])
    assert list(plain['meta']['dataset_meta']['classes'])[1] == 'Trouser'
    # The config: a LinearClsHead with no COLAM argument, no SoftLabelHook,
    # no mmcolam import (nothing else of mmcolam's is used).
    cfg = Config.fromfile(published['config'])
    assert cfg.model.head == dict(
        type='LinearClsHead', num_classes=10, in_channels=8,
        loss=dict(type='CrossEntropyLoss'))
    assert cfg.custom_hooks == []
    assert 'custom_imports' not in cfg
    assert plain['meta']['cfg'] == cfg.pretty_text


def test_mmpretrain_loads_it_without_mmcolam(colam_checkpoint, published,
                                             tmp_path):
    from mmpretrain import ImageClassificationInferencer
    images = read_idx(osp.join(colam_checkpoint['data_root'],
                               't10k-images-idx3-ubyte'))
    labels = read_idx(osp.join(colam_checkpoint['data_root'],
                               't10k-labels-idx1-ubyte'))
    np.save(tmp_path / 'batch.npy', images[:16])
    script = tmp_path / 'clean.py'
    script.write_text(CLEAN_SCRIPT)
    env = dict(os.environ, OMP_NUM_THREADS='1')
    done = subprocess.run(
        [sys.executable, str(script), published['config'],
         published['checkpoint'], str(tmp_path / 'batch.npy'),
         str(tmp_path), MMPRETRAIN_TEST_TOOL],
        cwd=str(tmp_path), env=env, capture_output=True, text=True,
        timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(done.stdout.split('RESULT ')[-1])
    assert result == dict(mmcolam_imported=False, head='LinearClsHead')
    # The COLAM model itself (mmcolam loaded here) on the same images.
    colam = ImageClassificationInferencer(
        model=colam_checkpoint['config'],
        pretrained=colam_checkpoint['checkpoint'], device='cpu')
    assert type(colam.model.head).__name__ == 'COLAMHead'
    expected = np.stack([
        r['pred_scores'] for r in colam(list(images), batch_size=50)])
    np.testing.assert_allclose(
        np.load(tmp_path / 'inferencer_scores.npy'), expected[:16],
        rtol=1e-5, atol=1e-7)
    test_scores = np.load(tmp_path / 'test_scores.npy')
    np.testing.assert_allclose(test_scores, expected, rtol=1e-5, atol=1e-7)
    accuracy = 100 * (test_scores.argmax(1) == labels).mean()
    assert accuracy == pytest.approx(colam_checkpoint['accuracy'])


def test_rewrite_keeps_mmcolam_when_the_model_needs_it():
    tool = load_tool('model_converters/publish_model')
    cfg = Config.fromfile(osp.join(
        ROOT, 'configs', 'colam',
        'smallconvnet_1xb128-colam_fashion-mnist.py'))
    new = tool.rewrite_config(cfg)
    assert new.model.backbone.type == 'SmallConvNet'  # mmcolam's
    assert new.custom_imports.imports == ['mmcolam']
    assert new.model.head.type == 'LinearClsHead'
    assert 'temperature' not in new.model.head
    assert new.custom_hooks == []
    # The input config is left as it was.
    assert cfg.model.head.type == 'COLAMHead'


def test_rewrite_of_the_paper_form_builds_a_plain_head():
    tool = load_tool('model_converters/publish_model')
    assert tool.colam_head_args() == {
        'target', 'temperature', 'smoothing', 'hard_label_weight',
        'initial_table', 'soft_label_file'}
    cfg = Config.fromfile(osp.join(
        ROOT, 'configs', 'colam',
        'preact-resnet18-w8_1xb64-colam-paper_fashion-mnist.py'))
    assert cfg.model.head.target == 'paper'
    head = MODELS.build(tool.rewrite_config(cfg).model.head)
    assert type(head).__name__ == 'LinearClsHead'


def test_rewrite_keeps_other_imports_and_mixed_label_loss():
    tool = load_tool('model_converters/publish_model')
    cfg = Config(dict(
        model=dict(
            type='ImageClassifier',
            backbone=dict(type='ResNet', depth=18),
            head=dict(type='COLAMHead', num_classes=10, in_channels=512,
                      temperature=1.5, hard_label_weight=0.1,
                      loss=dict(type='CrossEntropyLoss', use_soft=True)),
            train_cfg=dict(augments=dict(type='Mixup', alpha=0.2))),
        custom_hooks=[dict(type='SoftLabelHook', interval=3),
                      dict(type='EMAHook')],
        custom_imports=dict(imports=['mmcolam', 'os.path'])))
    new = tool.rewrite_config(cfg)
    assert new.custom_imports.imports == ['os.path']
    assert new.custom_hooks == [dict(type='EMAHook')]
    # Mixup builds soft targets: the loss stays soft.
    assert new.model.head == dict(
        type='LinearClsHead', num_classes=10, in_channels=512,
        loss=dict(type='CrossEntropyLoss', use_soft=True))
    with pytest.raises(ValueError, match='COLAMHead'):
        tool.rewrite_config(new)
