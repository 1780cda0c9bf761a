"""Label Refinery (Bagherinezhad et al. 2018): the loss against numpy, the
frozen teacher through a Runner, bad options, and the two-generation tool
end to end on fake Fashion-MNIST."""
import copy
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import mmcolam  # noqa: F401  (registers the components)
from mmcolam.models.classifiers.label_refinery import teacher_model_config
from tests.helpers.fake_data import write_fashion_mnist
from tests.helpers.runner_config import (assert_finished_run,
                                         fashion_mnist_config)
from tests.helpers.tool_runs import REPO

ROOT = REPO
HL_CONFIG = 'configs/baselines/smallconvnet_1xb128-hl_fashion-mnist.py'
LR_CONFIG = 'configs/baselines/smallconvnet_1xb128-lr_fashion-mnist.py'

init_default_scope('mmpretrain')


def student_dict(num_classes=4, **head):
    return dict(
        type='ImageClassifier',
        data_preprocessor=dict(mean=[72.94], std=[90.02]),
        backbone=dict(type='SmallConvNet', widths=(4, 8)),
        head=dict(type='LinearClsHead', num_classes=num_classes,
                  in_channels=8, **head))


def save_teacher(path, seed=0, num_classes=4):
    """A teacher with random weights (and BN statistics) saved as an
    MMEngine checkpoint; returns the model."""
    torch.manual_seed(seed)
    teacher = MODELS.build(student_dict(num_classes))
    with torch.no_grad():
        for name, tensor in teacher.state_dict().items():
            if tensor.is_floating_point():
                tensor.copy_(torch.randn_like(tensor).abs() if 'var' in name
                             else torch.randn_like(tensor))
    torch.save(dict(state_dict=teacher.state_dict(), meta=dict()), path)
    return teacher.eval()


def refinery(tmp_path, **kwargs):
    path = str(tmp_path / 'teacher.pth')
    teacher = save_teacher(path)
    cfg = student_dict(**kwargs.pop('head', {}))
    cfg.update(type='LabelRefinery',
               teacher=dict(student_dict(), checkpoint=path))
    cfg.update(kwargs)
    return MODELS.build(cfg), teacher


def np_log_softmax(x):
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def test_loss_is_soft_cross_entropy_against_teacher_probabilities(tmp_path):
    model, teacher = refinery(tmp_path)
    model.init_weights()
    torch.manual_seed(1)
    inputs = torch.randn(5, 1, 28, 28)
    labels = [0, 1, 2, 3, 0]
    samples = [DataSample().set_gt_label(y) for y in labels]
    loss = model.loss(inputs, samples)['loss']

    with torch.no_grad():
        t = teacher(inputs, mode='tensor').double().numpy()
        z = model(inputs, mode='tensor').double().numpy()
    p = np.exp(np_log_softmax(t))
    expected = -(p * np_log_softmax(z)).sum(1).mean()
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    # The labels play no part: other labels, same loss.
    others = [DataSample().set_gt_label((y + 1) % 4) for y in labels]
    assert model.loss(inputs, others)['loss'].item() == pytest.approx(
        loss.item(), rel=1e-6)
    # The data samples given are left as they were.
    assert 'gt_score' not in samples[0]


def test_gradient_equals_that_of_the_papers_kl(tmp_path):
    model, _ = refinery(tmp_path)
    model.init_weights()
    inputs = torch.randn(3, 1, 28, 28)
    samples = [DataSample().set_gt_label(0) for _ in range(3)]
    probs = model.teacher_probs(inputs)
    z = model(inputs, mode='tensor').detach().requires_grad_(True)
    ours = -(probs * z.log_softmax(1)).sum(1).mean()
    kl = torch.nn.functional.kl_div(z.log_softmax(1), probs,
                                    reduction='batchmean')
    grad_ours, = torch.autograd.grad(ours, z)
    grad_kl, = torch.autograd.grad(kl, z)
    torch.testing.assert_close(grad_ours, grad_kl)
    entropy = -(probs * probs.log()).sum(1).mean()
    assert ours.item() == pytest.approx(kl.item() + entropy.item(), rel=1e-5)
    assert model.loss(inputs, samples)['loss'].item() == pytest.approx(
        ours.item(), rel=1e-5)


def test_teacher_stays_out_of_the_student(tmp_path):
    model, teacher = refinery(tmp_path)
    model.init_weights()  # must not re-initialise the teacher
    for name, value in teacher.state_dict().items():
        torch.testing.assert_close(model.teacher.state_dict()[name], value)
    assert not any('teacher' in key for key in model.state_dict())
    teacher_params = {id(p) for p in model.teacher.parameters()}
    assert not teacher_params & {id(p) for p in model.parameters()}
    model.train()
    assert not model.teacher.training
    assert not any(p.requires_grad for p in model.teacher.parameters())
    assert copy.deepcopy(model).teacher is model.teacher


class CheckTeacher(Hook):
    """Check, after every iteration, that the teacher is frozen."""

    def __init__(self, expected):
        self.expected = expected
        self.iterations = 0

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        teacher = runner.model.teacher
        assert not teacher.training
        for name, value in teacher.state_dict().items():
            assert torch.equal(value, self.expected[name]), name
        for group in runner.optim_wrapper.optimizer.param_groups:
            assert not {id(p) for p in group['params']} & {
                id(p) for p in teacher.parameters()}
        self.iterations += 1


def test_trains_two_epochs_through_runner_with_frozen_teacher(tmp_path):
    path = str(tmp_path / 'teacher.pth')
    cfg = fashion_mnist_config(
        tmp_path, loss=dict(type='CrossEntropyLoss', use_soft=True))
    cfg['model']['type'] = 'LabelRefinery'
    teacher_cfg = copy.deepcopy(cfg['model'])
    teacher_cfg['type'] = 'ImageClassifier'
    torch.manual_seed(3)
    teacher = MODELS.build(teacher_cfg)
    torch.save(dict(state_dict=teacher.state_dict()), path)
    expected = {k: v.clone() for k, v in teacher.state_dict().items()}
    cfg['model']['teacher'] = dict(teacher_cfg, checkpoint=path)
    cfg['default_hooks']['checkpoint'] = dict(
        type='CheckpointHook', interval=2)

    runner = Runner.from_cfg(Config(cfg))
    check = CheckTeacher(expected)
    runner.register_hook(check, priority='LOWEST')
    runner.train()
    assert check.iterations == 20
    losses = {'train/loss': runner.message_hub.get_scalar(
        'train/loss').current()}
    assert_finished_run(losses, runner.test())

    # The checkpoint holds the student alone: a plain ImageClassifier loads
    # it strictly and predicts as the trained student does.
    state = torch.load(osp.join(runner.work_dir, 'epoch_2.pth'),
                       weights_only=False)['state_dict']
    assert not any('teacher' in key for key in state)
    plain = MODELS.build(teacher_cfg)
    plain.load_state_dict(state, strict=True)
    plain.eval(), runner.model.eval()
    inputs = torch.randn(2, 1, 28, 28)
    torch.testing.assert_close(
        plain(inputs, mode='tensor'), runner.model(inputs, mode='tensor'))


def test_teacher_from_config_file_and_label_refinery_teacher():
    model_cfg, ckpt = teacher_model_config(
        dict(config=osp.join(ROOT, HL_CONFIG), checkpoint='gen1.pth'))
    assert ckpt == 'gen1.pth' and model_cfg['type'] == 'ImageClassifier'
    assert model_cfg['backbone']['type'] == 'SmallConvNet'
    assert model_cfg['data_preprocessor']['mean'] == [72.94]
    # A generation-2 config as teacher (generation 3): its teacher dropped.
    model_cfg, _ = teacher_model_config(
        dict(config=osp.join(ROOT, LR_CONFIG), checkpoint='gen2.pth'))
    assert model_cfg['type'] == 'ImageClassifier'
    assert 'teacher' not in model_cfg
    model_cfg, _ = teacher_model_config(
        dict(config='mmpretrain::resnet/resnet50_8xb32_in1k.py',
             checkpoint='x.pth'))
    assert model_cfg['backbone']['depth'] == 50
    assert model_cfg['data_preprocessor']['to_rgb'] is True


def test_teacher_config_normalisation_is_checked():
    # The HL config's top-level data_preprocessor (mean 72.94) is its
    # model's, as under the Runner: a student normalising otherwise fails.
    cfg = student_dict(num_classes=10)
    cfg.update(type='LabelRefinery',
               data_preprocessor=dict(mean=[0.0], std=[1.0]),
               teacher=dict(config=osp.join(ROOT, HL_CONFIG),
                            checkpoint='gen1.pth'))
    with pytest.raises(ValueError, match='data_preprocessor.mean'):
        MODELS.build(cfg)
    cfg['data_preprocessor'] = dict(mean=[72.94], std=[90.02])
    assert MODELS.build(cfg).teacher.data_preprocessor.mean.item() == \
        pytest.approx(72.94)


@pytest.mark.parametrize('teacher, match', [
    ('teacher.pth', 'teacher='),
    (dict(config=HL_CONFIG), 'teacher.checkpoint=None'),
    (dict(config=HL_CONFIG, checkpoint='x.pth', depth=3), 'only other key'),
    (dict(checkpoint='x.pth'), 'neither config nor type'),
    (dict(config='no/such/config.py', checkpoint='x.pth'),
     'teacher.config='),
])
def test_bad_teacher(teacher, match):
    with pytest.raises((ValueError, FileNotFoundError), match=match):
        teacher_model_config(teacher)


@pytest.mark.parametrize('change, match', [
    (dict(head=dict(cal_acc=True)), 'cal_acc'),
    (dict(head=dict(type='COLAMHead')), 'head type COLAMHead'),
    (dict(head=dict(num_classes=5)), 'num_classes=5'),
    (dict(data_preprocessor=dict(mean=[0.0], std=[1.0])),
     'data_preprocessor.mean'),
])
def test_bad_student(tmp_path, change, match):
    path = str(tmp_path / 'teacher.pth')
    save_teacher(path)
    cfg = student_dict()
    head = change.pop('head', {})
    cfg['head'].update(head)
    cfg.update(change, type='LabelRefinery',
               teacher=dict(student_dict(), checkpoint=path))
    with pytest.raises(ValueError, match=match):
        MODELS.build(cfg)


def test_missing_checkpoint_fails_when_training_starts(tmp_path):
    cfg = student_dict()
    cfg.update(type='LabelRefinery',
               teacher=dict(student_dict(), checkpoint='no/gen1.pth'))
    model = MODELS.build(cfg)  # building reads no checkpoint
    with pytest.raises(FileNotFoundError,
                       match=r"model.teacher.checkpoint='no/gen1.pth'"):
        model.init_weights()


def test_two_generation_tool_end_to_end(tmp_path):
    data_root = write_fashion_mnist(str(tmp_path / 'fashion_mnist'),
                                    num_train=64, num_test=20)
    work_dir = tmp_path / 'lr'
    options = [
        'train_cfg.max_epochs=1',
        'train_dataloader.batch_size=32', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
        'val_dataloader.batch_size=20',
        f'train_dataloader.dataset.data_root={data_root}',
        f'val_dataloader.dataset.data_root={data_root}',
        f'test_dataloader.dataset.data_root={data_root}',
        'default_hooks.logger.interval=1', 'log_level=WARNING',
    ]
    env = dict(os.environ, PYTHON=sys.executable)
    result = subprocess.run(
        ['bash', 'tools/label_refinery.sh', HL_CONFIG, LR_CONFIG,
         str(work_dir), '--cfg-options', *options],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + \
        result.stderr[-3000:]
    gen1 = (work_dir / 'gen1' / 'last_checkpoint').read_text().strip()
    assert gen1.endswith('epoch_1.pth') and osp.isfile(gen1)
    assert osp.isfile(work_dir / 'gen2' / 'epoch_1.pth')
    dumped = Config.fromfile(str(work_dir / 'gen2' / osp.basename(LR_CONFIG)))
    assert dumped.model.type == 'LabelRefinery'
    assert dumped.model.teacher.checkpoint == gen1
    assert dumped.model.teacher.config == HL_CONFIG
    assert dumped.train_cfg.max_epochs == 1  # the user's options kept
    # Generation 2's checkpoint holds the student alone.
    state = torch.load(work_dir / 'gen2' / 'epoch_1.pth',
                       weights_only=False)['state_dict']
    assert not any('teacher' in key for key in state)
