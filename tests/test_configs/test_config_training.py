"""Every config under configs/ builds and trains: one step (or forward pass)
on fake data gives its method's closed-form loss and update.

Configs are found by globbing (tests/helpers/config_cases.py), so configs
added later are covered too. By input size:

- 32x32 or smaller (CIFAR, Fashion-MNIST, glyphs): one ``model.train_step``
  on two samples of a small fake data set in the real on-disk format (the
  glyphs: a tiny rendered version), read through the config's own training
  pipeline; the loss must equal a closed form of
  the config's method and the classifier's weights must move by exactly one
  SGD step with the config's lr and weight decay. Configs with a
  SoftLabelHook first get one soft-label update (checked against an
  independent recomputation) and the step trains against it. For one
  network per data set, the COLAM config instead runs end to end through
  MMEngine's Runner (two epochs, an update after the first). A config with
  another custom hook runs one iteration through the Runner.
- ImageNet-size inputs (ImageNet, transfer data sets): the model and both
  data pipelines are built, two fake JPEGs go through them, and one
  training forward pass must give the closed-form loss.

Nothing is downloaded or read from a trained run: transfer configs lose their
Pretrained init_cfg, and Label Refinery's teacher gets its initial weights.
MMPretrain's CIFAR datasets check the md5 sum of every file, which fake data
cannot pass; the tests read it through ``unchecked_cifar`` (tests only), and
check that MMPretrain's own classes still refuse it.
"""
import contextlib
import copy
import math
import os
import os.path as osp
import re
import subprocess
import sys
import time

import mmcv
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.dataset import Compose, pseudo_collate
from mmengine.hooks import Hook
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from mmpretrain.models.classifiers import ImageClassifier
from mmpretrain.models.heads import LinearClsHead
from mmpretrain.models.losses import CrossEntropyLoss, LabelSmoothLoss
from mmpretrain.registry import DATA_SAMPLERS, DATASETS, HOOKS, MODELS

import mmcolam  # noqa: F401  (registers mmcolam's components)
from mmcolam.models.classifiers import CSKDClassifier, LabelRefinery
from mmcolam.models.heads import COLAMHead, CSKDHead, PSKDHead
from mmcolam.models.losses import (ConfidencePenaltyLoss, DisturbLabelLoss,
                                   TfKDRegLoss)
from mmcolam.soft_labels import PeerStatistics, soft_labels_from_statistics
from tests.helpers import unchecked_cifar  # noqa: F401  (test datasets)
from tests.helpers.config_cases import (LARGE_CONFIGS, ROOT, RUNNER_CONFIGS,
                                        SMALL_CONFIGS, SMALL_DATASETS,
                                        cached_model_index,
                                        check_parameter_count, dataset_type,
                                        is_small, load_config, other_hooks,
                                        reads_image_files, soft_label_hooks)
from tests.helpers.fake_data import (class_images, write_cifar,
                                     write_fashion_mnist)
from tests.helpers.glyph_data import tiny_font_dir, write_glyphs
from tests.helpers.runner_config import RecordLastTrainingBatch


@pytest.fixture(scope='module', autouse=True)
def fast_cpu_runs():
    """Parse MMPretrain's model index once (``cached_model_index``), and run
    torch on one thread: for batches of two small images that is as fast,
    and on a busy machine several times faster than two threads."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with cached_model_index():
        yield
    torch.set_num_threads(threads)


def quiet_runner(cfg, tmp_path, max_epochs, validate=False):
    """A Runner for a short CPU run of ``cfg`` in ``tmp_path``."""
    cfg.model.backbone.pop('init_cfg', None)
    cfg.train_cfg.max_epochs = max_epochs
    cfg.train_cfg.val_interval = max_epochs
    if not validate:
        cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.work_dir = str(tmp_path / 'work_dir')
    cfg.experiment_name = f'test_configs_{time.time_ns()}'
    cfg.log_level = 'WARNING'
    cfg.randomness = dict(seed=0)
    return Runner.from_cfg(cfg)


def build_model(cfg, tmp_path):
    """The config's model, without the checkpoints it would read."""
    # Transfer configs start from an ImageNet checkpoint: nothing can be
    # downloaded here, so the Pretrained init_cfg is dropped (after
    # test_configs.py checks it, in
    # test_transfer_configs_start_from_mmpretrain_resnet101).
    cfg.model.backbone.pop('init_cfg', None)
    # Label Refinery's teacher is a trained run that does not exist here: it
    # gets its (random) initial weights, saved where the config now points.
    teacher = None
    if cfg.model.get('teacher') is not None:
        teacher = str(tmp_path / 'teacher.pth')
        cfg.model.teacher.checkpoint = teacher
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg.model)
    if teacher is not None:
        torch.save(dict(state_dict=model.teacher.state_dict()), teacher)
    return model


def build(registry, cfg, **kwargs):
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return registry.build(cfg, default_args=kwargs or None)


def pipeline(pipeline_cfg):
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return Compose(copy.deepcopy(pipeline_cfg))


@pytest.fixture(scope='module')
def fake_roots(tmp_path_factory):
    root = tmp_path_factory.mktemp('data')
    return {
        'CIFAR10': write_cifar(str(root / 'cifar10'), 10, 20, 10),
        'CIFAR100': write_cifar(str(root / 'cifar100'), 100, 200, 20),
        'FashionMNISTGz': write_fashion_mnist(str(root / 'fashion_mnist')),
        'CustomDataset': write_glyphs(
            root / 'glyphs', tiny_font_dir(root / 'fonts'))[0],
    }


# Shape of a preprocessed small image (CIFAR: (3, 32, 32)).
INPUT_SHAPES = {'FashionMNISTGz': (1, 28, 28), 'CustomDataset': (1, 32, 32)}


def use_fake_data(cfg, roots, batch_size=2, train_samples=None):
    """Point every dataloader of ``cfg`` at the fake data, CPU-sized."""
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(name)
        if loader is None:
            continue
        kind = loader.dataset.type
        loader.dataset.type = SMALL_DATASETS[kind]
        loader.dataset.data_root = roots[kind]
        # MMEngine serialises a dataset's samples after a gc.collect() that
        # costs ~0.2 s here, a tenth of a test; a few samples need neither.
        loader.dataset.serialize_data = False
        loader.batch_size = batch_size
        loader.num_workers = 0
        loader.persistent_workers = False
        if name == 'train_dataloader':
            if train_samples is not None:
                loader.dataset.indices = train_samples
        else:
            loader.dataset.indices = 2
    return cfg


def train_samples_of(cfg, count):
    """``count`` indices of the training set in the order of the config's
    own sampler (the pairs of ClassPairSampler, the shuffle of the default
    one), and the dataset."""
    dataset = build(DATASETS, cfg.train_dataloader.dataset)
    sampler = build(
        DATA_SAMPLERS, cfg.train_dataloader.sampler, dataset=dataset, seed=0)
    indices = list(sampler)[:count]
    return dataset, indices


def labels_of(data_samples):
    return torch.cat([sample.gt_label for sample in data_samples])


def no_closed_form(model):
    pytest.fail(f'no closed form for {type(model).__name__} with '
                f'{type(model.head).__name__} and '
                f'{type(model.head.loss_module).__name__}: add one to '
                'expected_loss')


def expected_loss(model, inputs, logits, labels, disturbed=None):
    """The loss the model of a known method computes for preprocessed
    ``inputs`` with ``logits``, in closed form; a method this file does not
    know fails the test."""
    num_classes = logits.size(1)
    one_hot = F.one_hot(labels, num_classes).float()
    log_p = logits.log_softmax(dim=1)
    head = model.head
    loss = head.loss_module
    if isinstance(model, LabelRefinery):
        # Cross-entropy against the frozen teacher's softmax.
        if not (type(head) is LinearClsHead
                and isinstance(loss, CrossEntropyLoss)):
            no_closed_form(model)
        with torch.no_grad():
            target = model.teacher(inputs, mode='tensor').softmax(dim=1)
        return -(target * log_p).sum(1).mean() * loss.loss_weight
    # CSKDClassifier: the same head loss of the features it re-interleaves.
    if type(model) not in (ImageClassifier, CSKDClassifier):
        no_closed_form(model)
    if isinstance(head, COLAMHead):
        if not (isinstance(loss, CrossEntropyLoss) and loss.use_soft):
            no_closed_form(model)
        table = head.soft_labels
        if head.smoothing is None:  # the paper's form, hard-label weight a
            alpha = head.hard_label_weight
            target = alpha * one_hot + (1 - alpha) * one_hot @ table
        else:  # (1 - eps) y + eps y O, O: S off its diagonal, renormalised
            off_diagonal = 1 - torch.eye(num_classes)
            off = table * off_diagonal
            total = off.sum(1, keepdim=True)
            off = torch.where(total > 0, off / total,
                              off_diagonal / (num_classes - 1))
            eps = head.smoothing
            target = (1 - eps) * one_hot + eps * one_hot @ off
        log_q = (logits / head.temperature).log_softmax(dim=1)
        return -(target * log_q).sum(1).mean() * loss.loss_weight
    if isinstance(head, CSKDHead):
        if not (isinstance(loss, CrossEntropyLoss) and not loss.use_soft):
            no_closed_form(model)
        anchor, partner = logits[0::2], logits[1::2].detach()
        cross_entropy = -(one_hot[0::2] * log_p[0::2]).sum(1).mean()
        temp = head.temperature
        p_partner = (partner / temp).softmax(dim=1)
        kl = (p_partner * (p_partner.log() -
                           (anchor / temp).log_softmax(dim=1))).sum(1).mean()
        return cross_entropy * loss.loss_weight + \
            head.lambda_cls * temp**2 * kl
    if isinstance(head, PSKDHead) and isinstance(loss, CrossEntropyLoss):
        # Epoch 0 (or alpha_t = 0): the hard labels.
        assert head.epoch == 0 or head.alpha == 0
        return -(one_hot * log_p).sum(1).mean() * loss.loss_weight
    if type(head) is not LinearClsHead:
        no_closed_form(model)
    if isinstance(loss, LabelSmoothLoss) and loss.mode == 'original':
        eps = loss.label_smooth_val
        target = (1 - eps) * one_hot + eps / num_classes
    elif isinstance(loss, CrossEntropyLoss) and not (
            loss.use_sigmoid or loss.use_soft
            or loss.class_weight is not None):
        target = one_hot
    elif isinstance(loss, ConfidencePenaltyLoss):
        cross_entropy = -(one_hot * log_p).sum(1)
        negative_entropy = (log_p.exp() * log_p).sum(1)
        return (cross_entropy +
                loss.beta * negative_entropy).mean() * loss.loss_weight
    elif isinstance(loss, DisturbLabelLoss):
        target = F.one_hot(disturbed, num_classes).float()
    elif isinstance(loss, TfKDRegLoss):
        # The teacher: a on the class, (1 - a) / (C - 1) elsewhere, as
        # logits at temperature T; the student at T_s in the KL term.
        a = loss.correct_prob
        teacher = ((a * one_hot + (1 - a) / (num_classes - 1) *
                    (1 - one_hot)) / loss.temperature).softmax(dim=1)
        t_s = loss.student_temperature
        kl = (teacher * (teacher.log() -
                         (logits / t_s).log_softmax(dim=1))).sum(1)
        cross_entropy = -(one_hot * log_p).sum(1)
        return ((1 - loss.alpha) * cross_entropy + loss.alpha *
                loss.kl_weight * t_s**2 * kl).mean() * loss.loss_weight
    else:
        no_closed_form(model)
    return -(target * log_p).sum(1).mean() * loss.loss_weight


def expected_soft_labels(logits, labels, previous, head, hook_cfg):
    """Independent recomputation of a soft-label update (paper Alg. 1 lines
    9-14, Eq. 6, with mmcolam's options): row c becomes softmax of the mean
    peer logit of class c over T (the hook's label_temperature, else 2 for
    the bounded target and the head's temperature for the paper's) or the
    normalised mean probability, kept when the class has no peers (1/C with
    empty_rows='uniform') or, with the guard (by default only for the
    bounded target), when the new row would not give its own class the
    largest mass."""
    paper = head.target == 'paper'
    statistic = hook_cfg.get('statistic', 'logits')
    only_correct = hook_cfg.get('only_correct', False)
    guard = hook_cfg.get('keep_true_class_top')
    guard = not paper if guard is None else guard
    momentum = hook_cfg.get('momentum', 0.0)
    empty_rows = hook_cfg.get('empty_rows', 'keep')
    temperature = hook_cfg.get('label_temperature') or (
        head.temperature if paper else 2.0)
    new = previous.clone().double()
    logits = logits.double()
    for c in range(previous.size(0)):
        peers = labels == c
        if only_correct:
            peers &= logits.argmax(dim=1) == c
        if not peers.any():
            if empty_rows == 'uniform':  # OLS: 1/C
                new[c] = 1 / previous.size(0)
            continue
        if statistic == 'logits':
            row = (logits[peers].mean(0) / temperature).softmax(dim=0)
        else:
            mean = logits[peers].softmax(dim=1).mean(0)
            row = mean / mean.sum()
        if guard and row[c] < row.max():
            continue
        new[c] = row
    new = momentum * previous.double() + (1 - momentum) * new
    return new.float()


def peer_logits(model, dataset, indices, test_pipeline):
    """Eval-mode logits of training samples run through the test pipeline."""
    samples = [test_pipeline(dataset.get_data_info(i)) for i in indices]
    was_training = model.training
    model.eval()
    with torch.no_grad():
        data = model.data_preprocessor(pseudo_collate(samples), False)
        logits = model(data['inputs'], mode='tensor')
    model.train(was_training)
    return logits, labels_of(data['data_samples'])


@contextlib.contextmanager
def recording_forward(model):
    """Record, during one training forward pass, what the backbone got
    (``inputs``) and what the head's loss got and gave (``feats``,
    ``data_samples``, ``losses``), so that no extra pass is needed."""
    record = {}
    extract_feat, head_loss = model.extract_feat, model.head.loss

    def recording_extract_feat(inputs, *args, **kwargs):
        record.setdefault('inputs', inputs.detach())
        return extract_feat(inputs, *args, **kwargs)

    def recording_loss(feats, data_samples, **kwargs):
        record.update(feats=feats, data_samples=data_samples)
        record['losses'] = head_loss(feats, data_samples, **kwargs)
        return record['losses']

    model.extract_feat = recording_extract_feat
    model.head.loss = recording_loss
    try:
        yield record
    finally:
        del model.extract_feat, model.head.loss


def fc_params(model):
    """Leaf copies of the head's ``fc`` weight and bias, to differentiate a
    closed-form loss with respect to them."""
    fc = model.head.fc
    return [fc.weight.detach().clone().requires_grad_(),
            fc.bias.detach().clone().requires_grad_()]


def closed_form(model, record, disturbed, params):
    """The closed-form loss of a recorded forward pass, as a function of
    ``params`` (the ``fc`` weights of that pass, from :func:`fc_params`)."""
    pre_logits = model.head.pre_logits(record['feats']).detach()
    logits = F.linear(pre_logits, *params)
    labels = labels_of(record['data_samples'])
    return expected_loss(model, record['inputs'], logits, labels, disturbed)


def own_loss(record):
    """The sum of the loss terms the head returned."""
    own = sum(v for k, v in record['losses'].items() if k.startswith('loss'))
    assert math.isfinite(own.item())
    return own


def disturbance_of(model, batch):
    """The labels a DisturbLabelLoss will train ``batch`` on in its first
    call (None for other losses): a copy made before that call draws from an
    identically seeded generator."""
    loss = model.head.loss_module
    if isinstance(loss, DisturbLabelLoss):
        labels = labels_of(batch['data_samples'])
        return copy.deepcopy(loss).disturb_labels(labels,
                                                  model.head.num_classes)


def train_step_matches_closed_form(model, batch, cfg):
    """One ``model.train_step``: the loss the head computes equals its
    closed form, and the classifier's weights move by exactly one SGD step
    on the gradient of that closed form, with the config's lr and weight
    decay (the first step of momentum SGD is plain SGD)."""
    optimizer_cfg = cfg.optim_wrapper.optimizer
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    disturbed = disturbance_of(model, batch)
    before = fc_params(model)
    model.train()
    with recording_forward(model) as record:
        log_vars = model.train_step(batch, optim_wrapper)
    assert math.isfinite(log_vars['loss'].item())
    own = own_loss(record)
    expected = closed_form(model, record, disturbed, before)
    torch.testing.assert_close(own, expected.detach())
    grads = torch.autograd.grad(expected, before)
    lr, wd = optimizer_cfg.lr, optimizer_cfg.get('weight_decay', 0)
    fc = model.head.fc
    for param, old, grad in zip([fc.weight, fc.bias], before, grads):
        old = old.detach()
        torch.testing.assert_close(param.detach(),
                                   old - lr * (grad + wd * old))


# ------------------------------------------------------------ the tests
def test_fake_cifar_is_the_real_format_and_needs_the_test_only_bypass(
        fake_roots):
    """The pickles decode as MMPretrain reads real CIFAR (HWC images, labels
    in order), and MMPretrain's own classes refuse them (md5), so users'
    data keeps its check."""
    from mmpretrain.datasets import CIFAR10, CIFAR100
    for real, kind, count, num_classes in ((CIFAR10, 'CIFAR10', 20, 10),
                                           (CIFAR100, 'CIFAR100', 200, 100)):
        dataset = DATASETS.build(
            dict(type=SMALL_DATASETS[kind], data_root=fake_roots[kind]))
        labels = dataset.get_gt_labels()
        assert len(dataset) == count
        assert sorted(np.bincount(labels, minlength=num_classes)) == \
            [count // num_classes] * num_classes
        # write_cifar's first batch file holds the first samples; its images
        # are class_images(labels, seed=0) in the files' channel-major rows.
        first = len(labels) if num_classes == 100 else count // 5
        np.testing.assert_array_equal(
            np.stack([dataset[i]['img'] for i in range(first)]),
            class_images(labels[:first], size=32, channels=3, seed=0))
        with pytest.raises(RuntimeError, match='Cannot find'):
            real(data_root=fake_roots[kind], download=False)


@pytest.mark.parametrize(
    'name', [n for n in SMALL_CONFIGS if n not in RUNNER_CONFIGS])
def test_small_config_trains_one_step(name, fake_roots, tmp_path):
    """One train step on two fake samples through the config's pipeline:
    the loss equals its closed form and the classifier moves by exactly one
    SGD step. With a SoftLabelHook, one soft-label update from four peers
    comes first (checked against an independent recomputation), and the
    step trains against it."""
    cfg = load_config(name)
    assert is_small(cfg), f'{dataset_type(cfg)} is not a small data set'
    if other_hooks(cfg):
        # PS-KD, whose state lives in its hook: one iteration through the
        # Runner, which sets the hook up; its loss against the closed form.
        assert [h['type'] for h in other_hooks(cfg)] == ['PSKDHook'], \
            'a hook this test does not know'
        cfg = use_fake_data(cfg, fake_roots, train_samples=2)
        runner = quiet_runner(cfg, tmp_path, max_epochs=1)
        record = RecordLastTrainingBatch()
        runner.register_hook(record)
        runner.train()
        assert runner.iter == 1
        loss = runner.message_hub.get_scalar('train/loss').current()
        expected = expected_loss(runner.model, None, record.logits,
                                 record.labels)
        assert loss == pytest.approx(expected.item(), rel=1e-5)
        return
    use_fake_data(cfg, fake_roots)
    model = build_model(cfg, tmp_path)
    check_parameter_count(name, model)
    dataset, indices = train_samples_of(cfg, 2)
    batch = pseudo_collate([dataset[i] for i in indices])
    assert batch['inputs'][0].shape == \
        INPUT_SHAPES.get(dataset_type(cfg), (3, 32, 32))
    hooks = soft_label_hooks(cfg)
    if hooks:
        # What SoftLabelHook.before_run does (no Runner here); building the
        # hook checks its arguments.
        hook = build(HOOKS, hooks[0])
        head = model.head
        head.set_soft_labels(torch.eye(head.num_classes))
        hook.attach(head)
        test_pipeline = pipeline(cfg.test_dataloader.dataset.pipeline)
        logits, labels = peer_logits(model, dataset, range(4), test_pipeline)
        stats = PeerStatistics(head.num_classes, hook.statistic,
                               hook.only_correct)
        stats.update(logits, labels)
        previous = head.soft_labels.clone()
        label_temperature = hook.label_temperature
        table, _ = soft_labels_from_statistics(
            stats, previous, label_temperature, hook.keep_true_class_top,
            hook.momentum, empty_rows=hook.empty_rows)
        torch.testing.assert_close(
            table,
            expected_soft_labels(logits, labels, previous, head, hooks[0]))
        # The guard (and only_correct) keep most rows of an untrained
        # model; without them every class with peers gets a new row, so the
        # temperature is checked on every row, and the step below trains
        # against a non-trivial table.
        stats = PeerStatistics(head.num_classes, hook.statistic)
        stats.update(logits, labels)
        unguarded, _ = soft_labels_from_statistics(
            stats, previous, label_temperature, False, 0.,
            empty_rows=hook.empty_rows)
        torch.testing.assert_close(
            unguarded,
            expected_soft_labels(
                logits, labels, previous, head,
                dict(hooks[0], keep_true_class_top=False, momentum=0.,
                     only_correct=False)))
        assert not torch.equal(unguarded, previous)
        head.soft_labels.copy_(unguarded)
    train_step_matches_closed_form(model, batch, cfg)


class RecordUpdate(Hook):
    """Runs after SoftLabelHook and recomputes its update independently."""

    priority = 'LOW'

    def __init__(self, hook_cfg):
        self.hook_cfg = hook_cfg
        self.records = []

    def before_train_epoch(self, runner):
        self.previous = runner.model.head.soft_labels.clone()

    def after_train_epoch(self, runner):
        head = runner.model.head
        if runner.epoch + 1 == runner.max_epochs:  # no update after the last
            self.records.append((runner.epoch + 1, head.soft_labels.clone()))
            return
        dataset = runner.train_dataloader.dataset
        test_pipeline = pipeline(runner.cfg.test_dataloader.dataset.pipeline)
        logits, labels = peer_logits(runner.model, dataset,
                                     range(len(dataset)), test_pipeline)
        self.records.append(
            (runner.epoch + 1, head.soft_labels.clone(),
             expected_soft_labels(logits, labels, self.previous, head,
                                  self.hook_cfg)))


@pytest.mark.parametrize('name', RUNNER_CONFIGS)
def test_colam_config_runs_end_to_end(name, fake_roots, tmp_path):
    """Two epochs through the Runner with the stage shortened to one epoch:
    the update after epoch 1 equals an independent recomputation (all of a
    class's few samples are its peers), is written to work_dir, and the
    second epoch trains; then the test loop runs."""
    cfg = use_fake_data(load_config(name), fake_roots, train_samples=4)
    (hook_cfg, ) = soft_label_hooks(cfg)
    assert hook_cfg.get('peer_mode', 'resample') == 'resample'
    hook_cfg.interval = 1
    runner = quiet_runner(cfg, tmp_path, max_epochs=2, validate=True)
    record = RecordUpdate(hook_cfg)
    runner.register_hook(record)
    runner.train()
    (epoch, table, expected), (last_epoch, last_table) = record.records
    assert (epoch, last_epoch) == (1, 2)
    torch.testing.assert_close(table, expected)
    torch.testing.assert_close(last_table, table)  # no update after the last
    saved = np.load(osp.join(cfg.work_dir, 'soft_labels', 'epoch_1.npy'))
    np.testing.assert_allclose(saved, table.numpy())
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert math.isfinite(loss)
    assert runner.iter == 4  # 2 epochs of 4 samples in batches of 2
    metrics = runner.test()
    assert 0 <= metrics['accuracy/top1'] <= 100


@pytest.fixture(scope='module')
def fake_jpegs(tmp_path_factory):
    root = tmp_path_factory.mktemp('images')
    rng = np.random.default_rng(0)
    paths = []
    for i, shape in enumerate([(300, 400, 3), (260, 240, 3)]):
        path = str(root / f'image_{i}.jpg')
        mmcv.imwrite(rng.integers(0, 256, shape, dtype=np.uint8), path)
        paths.append(path)
    return paths


@pytest.mark.parametrize('name', LARGE_CONFIGS)
def test_large_config_forward(name, fake_jpegs, tmp_path):
    """Both pipelines on two fake JPEGs; one training forward pass whose
    loss equals the closed form of the method."""
    cfg = load_config(name)
    assert not is_small(cfg), f'{name}: name its data set'
    assert reads_image_files(cfg), (
        f'{name}: teach test_config_training.py how to fake '
        f'{dataset_type(cfg)}')
    model = build_model(cfg, tmp_path)
    check_parameter_count(name, model)
    if soft_label_hooks(cfg):
        model.head.set_soft_labels(torch.eye(model.head.num_classes))
    # A method whose state lives in a hook this file does not know is only
    # run up to its logits (its loss needs the hook).
    with_loss = not other_hooks(cfg)
    num_classes = model.head.num_classes
    # One class for both images, so that a CS-KD batch is a valid pair.
    infos = [dict(img_path=path, gt_label=num_classes - 1)
             for path in fake_jpegs]
    test_pipeline = pipeline(cfg.test_dataloader.dataset.pipeline)
    for sample in map(test_pipeline, copy.deepcopy(infos)):
        assert sample['inputs'].shape == (3, 224, 224)
    train_pipeline = pipeline(cfg.train_dataloader.dataset.pipeline)
    batch = pseudo_collate([train_pipeline(i) for i in copy.deepcopy(infos)])
    disturbed = disturbance_of(model, batch)
    model.train()
    with torch.no_grad():
        data = model.data_preprocessor(batch, True)
        assert data['inputs'].shape == (2, 3, 224, 224)
        if not with_loss:
            logits = model(data['inputs'], mode='tensor')
            assert logits.shape == (2, num_classes)
            return
        with recording_forward(model) as record:
            model(**data, mode='loss')
    own = own_loss(record)
    expected = closed_form(model, record, disturbed, fc_params(model))
    torch.testing.assert_close(own, expected.detach())


def test_train_script_runs_a_cifar_config(fake_roots, tmp_path):
    """``python tools/train.py CONFIG --cfg-options ...`` on the fake
    CIFAR-100: one epoch of PreActResNet-18 on 16 images in batches of 8,
    validation, a checkpoint. The md5 check is bypassed by the dotted type
    ``tests.helpers.unchecked_cifar.UncheckedCIFAR100``, which MMEngine
    imports from the repository (on PYTHONPATH for this run only)."""
    config = 'configs/baselines/preact-resnet18_1xb64-hl_cifar100.py'
    work_dir = tmp_path / 'work_dir'
    options = ['train_cfg.max_epochs=1', 'default_hooks.logger.interval=1']
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options += [
            f'{loader}.dataset.type='
            'tests.helpers.unchecked_cifar.UncheckedCIFAR100',
            f'{loader}.dataset.data_root={fake_roots["CIFAR100"]}',
            f'{loader}.dataset.indices=16', f'{loader}.batch_size=8',
            f'{loader}.num_workers=0'
        ]
    env = dict(os.environ, CUDA_VISIBLE_DEVICES='', OMP_NUM_THREADS='1')
    env.pop('PYTHONWARNINGS', None)
    env['PYTHONPATH'] = os.pathsep.join(
        [ROOT, env.get('PYTHONPATH', '')])
    result = subprocess.run(
        [sys.executable, 'tools/train.py', config, '--work-dir',
         str(work_dir), '--cfg-options'] + options,
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert re.search(r'Epoch\(val\) \[1\]\[2/2\]\s+accuracy/top1: ', log), \
        log[-3000:]
    # Upstream noise filtered (mmcolam.upstream_noise), at import and in the
    # log of MMEngine's CheckpointHook.
    for noise in ('MultiScaleDeformableAttention', 'pkg_resources',
                  '"FileClient" will be deprecated', '"HardDiskBackend"'):
        assert noise not in log, noise
    checkpoint = torch.load(
        str(work_dir / 'epoch_1.pth'), map_location='cpu', weights_only=False)
    assert checkpoint['meta']['epoch'] == 1
    assert checkpoint['meta']['iter'] == 2
    assert checkpoint['state_dict']['head.fc.weight'].shape == (100, 512)
