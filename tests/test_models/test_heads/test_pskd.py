"""PS-KD (Kim et al., ICCV 2021): targets and loss against numpy, the
prediction table gathered over two real (gloo) ranks, a Runner run checked
against an independent recomputation, and resume after a crash."""
import itertools
import multiprocessing
import os.path as osp
import socket
import traceback

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmpretrain.registry import HOOKS, MODELS
from mmpretrain.structures import DataSample

import mmcolam  # noqa: F401  (registers the components)
from mmcolam.engine.hooks.pskd_hook import CHECKPOINT_KEY
from mmcolam.models.heads.pskd_head import PSKDHead, all_gather_rows
from tests.helpers.colam_test_hooks import Crash
from tests.helpers.runner_config import (assert_finished_run,
                                         fashion_mnist_config)
from tests.helpers.tool_runs import REPO

_names = itertools.count()


def np_log_softmax(x):
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def samples(labels, indices):
    out = []
    for label, index in zip(labels, indices):
        sample = DataSample(metainfo=dict(sample_idx=int(index)))
        out.append(sample.set_gt_label(int(label)))
    return out


# Previous-epoch predictions of samples 0-3 of a 5-sample training set;
# sample 4 has not been seen.
TABLE = np.array([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.25, 0.25, 0.5],
                  [0.05, 0.9, 0.05], [np.nan, np.nan, np.nan]])
LOGITS = np.array([[2.0, -1.0, 0.5], [0.3, 0.4, -2.0], [1.0, 1.0, 3.0],
                   [-0.5, 2.5, 0.0]])


def make_head(epoch, max_epochs, **kwargs):
    head = PSKDHead(3, 4, **kwargs)
    head.load_predictions(torch.tensor(TABLE))
    head.set_epoch(epoch, max_epochs)
    return head


@pytest.mark.parametrize('table_dtype', ['float16', 'float32'])
def test_targets_and_loss_against_numpy(table_dtype):
    # Epoch index 2 of 5 (the third epoch): alpha_t = 0.8 * 3 / 5 = 0.48.
    head = make_head(2, 5, table_dtype=table_dtype)
    labels, indices = [0, 2, 2, 4 % 3], [0, 2, 4, 3]
    losses = head._get_loss(
        torch.tensor(LOGITS, dtype=torch.float32), samples(labels, indices))
    alpha = 0.48
    hard = np.eye(3)[labels]
    previous = TABLE[indices].copy()
    target = (1 - alpha) * hard + alpha * previous
    target[2] = hard[2]  # sample 4: not seen yet, the hard label
    expected = -(target * np_log_softmax(LOGITS)).sum(1).mean()
    tol = 1e-3 if table_dtype == 'float16' else 1e-6
    assert losses['loss'].item() == pytest.approx(expected, rel=tol)
    assert losses['pskd_alpha'].item() == pytest.approx(alpha)
    # The first sample by hand: target 0.52 * [1, 0, 0] + 0.48 * [0.7, 0.2,
    # 0.1] = [0.856, 0.096, 0.048].
    norm = np.log(np.exp(2.0) + np.exp(-1.0) + np.exp(0.5))
    first = -(0.856 * (2.0 - norm) + 0.096 * (-1.0 - norm) + 0.048 *
              (0.5 - norm))
    assert first == pytest.approx(-(target[0] * np_log_softmax(LOGITS)[0]
                                    ).sum(), rel=1e-12)
    # The table now holds this iteration's softmax for samples 0, 2, 4, 3.
    probs = np.exp(np_log_softmax(LOGITS))
    np.testing.assert_allclose(head.predictions[indices].float().numpy(),
                               probs, rtol=tol, atol=tol * 1e-2)
    np.testing.assert_allclose(head.predictions[1].float().numpy(), TABLE[1],
                               rtol=tol)
    assert head.predictions.dtype == getattr(torch, table_dtype)


def test_first_epoch_uses_the_labels():
    head = make_head(0, 5)
    labels = [0, 1, 2, 1]
    losses = head._get_loss(
        torch.tensor(LOGITS, dtype=torch.float32),
        samples(labels, [0, 1, 2, 3]))
    expected = -np_log_softmax(LOGITS)[np.arange(4), labels].mean()
    assert losses['loss'].item() == pytest.approx(expected, rel=1e-6)
    # The true alpha_1 = 0.8 * 1 / 5, as the authors log it (no effect on
    # the loss in the first epoch).
    assert losses['pskd_alpha'].item() == pytest.approx(0.16)


def test_alpha_grows_linearly_to_alpha_T():
    head = PSKDHead(3, 4)
    assert head.alpha_T == 0.8  # the authors' default
    alphas = []
    for epoch in range(4):
        head.set_epoch(epoch, 4)
        alphas.append(head.alpha)
    np.testing.assert_allclose(alphas, [0.2, 0.4, 0.6, 0.8])


# ------------------------------------------- parity with the authors' code
def authors_pskd(schedule, labels, logits, alpha_T, num_classes):
    """The authors' main.py, re-derived in float64: a zero table; alpha_t =
    alpha_T (epoch + 1) / epochs; in epoch 0 the batch's rows are first set
    to the one-hot labels; target (1 - alpha_t) y + alpha_t table[idx]; loss
    (-target * log_softmax).mean(0).sum(); after the step the batch's rows
    become its softmax. Returns per-epoch losses, alphas and tables."""
    table = np.zeros((len(labels), num_classes))
    out = []
    for epoch, batches in enumerate(schedule):
        alpha = alpha_T * (epoch + 1) / len(schedule)
        losses = []
        for batch in batches:
            one_hot = np.eye(num_classes)[labels[batch]]
            if epoch == 0:
                table[batch] = one_hot
            target = (1 - alpha) * one_hot + alpha * table[batch]
            log_p = np_log_softmax(logits[epoch][batch])
            losses.append((-target * log_p).mean(0).sum())
            table[batch] = np.exp(log_p)
        out.append(dict(losses=losses, alpha=alpha, table=table.copy()))
    return out


def our_pskd(schedule, labels, logits, alpha_T, num_classes):
    head = PSKDHead(num_classes, 4, alpha_T=alpha_T, table_dtype='float32')
    head.reset_predictions(len(labels))
    out = []
    for epoch, batches in enumerate(schedule):
        head.set_epoch(epoch, len(schedule))
        losses, alphas = [], []
        for batch in batches:
            result = head._get_loss(
                torch.tensor(logits[epoch][batch], dtype=torch.float32),
                samples(labels[batch], batch))
            losses.append(result['loss'].item())
            alphas.append(result['pskd_alpha'].item())
        out.append(dict(losses=losses, alphas=alphas,
                        table=head.predictions.double().numpy()))
    return out


# 6 samples of 3 classes; fixed logits for each of 3 epochs.
PARITY_LABELS = np.array([0, 1, 2, 0, 1, 2])
PARITY_LOGITS = np.random.default_rng(7).normal(scale=2.0, size=(3, 6, 3))


def test_three_epochs_match_the_authors_code():
    """Every sample once an epoch (their loader): the same losses, logged
    alpha_t (0.267 in the first epoch, 0.8 * 1 / 3) and tables."""
    schedule = [[[4, 0], [2, 5], [1, 3]], [[3, 1], [0, 5], [2, 4]],
                [[5, 4], [1, 0], [3, 2]]]
    theirs = authors_pskd(schedule, PARITY_LABELS, PARITY_LOGITS, 0.8, 3)
    ours = our_pskd(schedule, PARITY_LABELS, PARITY_LOGITS, 0.8, 3)
    assert theirs[0]['alpha'] == pytest.approx(0.26667, abs=1e-5)
    for epoch, (our, their) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(our['losses'], their['losses'],
                                   rtol=1e-6)
        np.testing.assert_allclose(our['alphas'], their['alpha'], rtol=1e-6)
        np.testing.assert_allclose(our['table'], their['table'], rtol=1e-6,
                                   atol=1e-7)
    # The soft targets matter from the second epoch on: hard labels alone
    # would give other losses.
    hard = authors_pskd(schedule, PARITY_LABELS, PARITY_LOGITS, 0.0, 3)
    assert abs(hard[1]['losses'][0] - theirs[1]['losses'][0]) > 0.05


def test_unseen_sample_is_the_one_documented_difference():
    """A loader that skips samples (drop_last): sample 5 is first seen in
    epoch 2, where ours trains it on y and theirs on (1 - alpha_2) y, so its
    batch's loss differs by exactly alpha_2 * CE(y) / batch size; sample 2,
    skipped in epoch 2, reads its epoch-1 prediction in epoch 3 in both."""
    schedule = [[[4, 0], [2, 1], [3]], [[3, 1], [0, 5], [4]],
                [[5, 4], [1, 0], [3, 2]]]
    theirs = authors_pskd(schedule, PARITY_LABELS, PARITY_LOGITS, 0.8, 3)
    ours = our_pskd(schedule, PARITY_LABELS, PARITY_LOGITS, 0.8, 3)
    alpha_2 = 0.8 * 2 / 3
    cross_entropy = -np_log_softmax(PARITY_LOGITS[1][5])[PARITY_LABELS[5]]
    expected = [list(their['losses']) for their in theirs]
    expected[1][1] += alpha_2 * cross_entropy / 2
    for epoch in range(3):
        np.testing.assert_allclose(ours[epoch]['losses'], expected[epoch],
                                   rtol=1e-6)
        np.testing.assert_allclose(ours[epoch]['table'][:5],
                                   theirs[epoch]['table'][:5], rtol=1e-6,
                                   atol=1e-7)
    assert np.isnan(ours[0]['table'][5]).all()
    assert (theirs[0]['table'][5] == 0).all()
    assert alpha_2 * cross_entropy / 2 > 0.1  # a visible difference


# ------------------------------------------------------------ two ranks
def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _rank_main(rank, port, results):
    try:
        torch.distributed.init_process_group(
            'gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
            world_size=2)
        # Uneven shards: rank 0 holds 3 rows, rank 1 holds 2.
        rows = [[4, 0, 7], [5, 2]][rank]
        indices = torch.tensor(rows)
        values = torch.arange(len(rows) * 3, dtype=torch.float16).view(
            -1, 3) + 100 * rank
        gathered = all_gather_rows(indices, values)
        # The head: each rank trains on its shard, and every rank must end
        # with both ranks' predictions in its table.
        head = PSKDHead(3, 4)
        head.reset_predictions(8)
        head.set_epoch(0, 2)
        logits = torch.tensor(LOGITS[:len(rows)] + rank, dtype=torch.float32)
        head._get_loss(logits, samples([i % 3 for i in rows], rows))
        results.put((rank, gathered[0].tolist(), gathered[1].tolist(),
                     head.predictions.float().tolist()))
        torch.distributed.destroy_process_group()
    except BaseException:
        results.put((rank, 'error', traceback.format_exc(), None))


def test_table_is_gathered_from_two_ranks():
    # Fresh processes: forking a process that has run torch operations can
    # deadlock in the children (OpenMP). The fork server starts before any,
    # with this module loaded once for both ranks.
    context = multiprocessing.get_context('forkserver')
    context.set_forkserver_preload([__name__])
    results = context.Queue()
    port = _free_port()
    processes = [
        context.Process(target=_rank_main, args=(rank, port, results))
        for rank in range(2)
    ]
    for process in processes:
        process.start()
    outputs = dict()
    try:
        for _ in processes:
            rank, indices, values, table = results.get(timeout=300)
            assert indices != 'error', values
            outputs[rank] = (indices, values, table)
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    expected_values = [[0, 1, 2], [3, 4, 5], [6, 7, 8], [100, 101, 102],
                       [103, 104, 105]]
    for rank in range(2):
        indices, values, table = outputs[rank]
        assert indices == [4, 0, 7, 5, 2]
        assert values == expected_values
        table = np.array(table)
        for shard_rank, rows in enumerate([[4, 0, 7], [5, 2]]):
            logits = LOGITS[:len(rows)] + shard_rank
            np.testing.assert_allclose(
                table[rows], np.exp(np_log_softmax(logits)), rtol=1e-3)
        assert np.isnan(table[[1, 3, 6]]).all()


def test_single_process_gather_is_identity():
    indices, values = torch.tensor([3, 1]), torch.rand(2, 4)
    out = all_gather_rows(indices, values)
    assert out[0] is indices and out[1] is values


# --------------------------------------------------------------- Runner
def pskd_config(tmp_path, max_epochs=2, **kwargs):
    cfg = fashion_mnist_config(
        tmp_path,
        head=dict(type='PSKDHead', alpha_T=0.8),
        loss=dict(type='CrossEntropyLoss', use_soft=True),
        max_epochs=max_epochs,
        **kwargs)
    cfg['custom_hooks'] = [dict(type='PSKDHook')]
    cfg['experiment_name'] = f'pskd_test_{next(_names)}'
    return cfg


class RecordTraining(Hook):
    """Per epoch and iteration: logits, labels, sample indices and loss."""

    def __init__(self):
        self.epochs = {}

    def before_train(self, runner):
        runner.model.head.register_forward_hook(
            lambda module, args, output: self.iterations[-1].update(
                logits=output.detach().clone().double().numpy()))

    def before_train_epoch(self, runner):
        self.iterations = self.epochs[runner.epoch + 1] = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        batch = data_batch['data_samples']
        self.iterations.append(
            dict(labels=np.array([int(s.gt_label) for s in batch]),
                 indices=np.array([s.sample_idx for s in batch])))

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.iterations[-1].update(loss=outputs['loss'].item(),
                                   alpha=outputs['pskd_alpha'].item())


def fp16_softmax(logits):
    return np.exp(np_log_softmax(logits)).astype(np.float16).astype(
        np.float64)


def test_runner_trains_against_previous_epoch_predictions(tmp_path):
    runner = Runner.from_cfg(Config(pskd_config(tmp_path)))
    record = RecordTraining()
    runner.register_hook(record, priority='LOW')
    runner.train()

    previous = {}
    for it in record.epochs[1]:
        assert it['alpha'] == pytest.approx(0.4)  # 0.8 * 1 / 2, no effect
        expected = -np_log_softmax(it['logits'])[
            np.arange(len(it['labels'])), it['labels']].mean()
        assert it['loss'] == pytest.approx(expected, rel=1e-5)
        previous.update(zip(it['indices'], fp16_softmax(it['logits'])))
    assert sorted(previous) == list(range(200))  # every sample seen once
    for it in record.epochs[2]:
        assert it['alpha'] == pytest.approx(0.8)  # 0.8 * 2 / 2
        hard = np.eye(10)[it['labels']]
        prev = np.stack([previous[i] for i in it['indices']])
        target = 0.2 * hard + 0.8 * prev
        expected = -(target * np_log_softmax(it['logits'])).sum(1).mean()
        assert it['loss'] == pytest.approx(expected, rel=1e-4)
    last = dict()
    for it in record.epochs[2]:
        last.update(zip(it['indices'], fp16_softmax(it['logits'])))
    table = runner.model.head.predictions.double().numpy()
    # Within one float16 step: the head rounds a float32 softmax, numpy a
    # float64 one, and the two can fall either side of a float16 boundary
    # (they did with one thread).
    np.testing.assert_allclose(table,
                               np.stack([last[i] for i in range(200)]),
                               rtol=2**-10, atol=2**-24)
    assert not any('predictions' in k for k in runner.model.state_dict())
    losses = {'train/loss': runner.message_hub.get_scalar(
        'train/loss').current()}
    assert_finished_run(losses, runner.test())


def test_resume_after_crash_gives_the_same_table(tmp_path):
    def config(name):
        cfg = pskd_config(tmp_path / name, max_epochs=3)
        cfg['train_dataloader']['dataset']['indices'] = 100
        cfg['default_hooks']['checkpoint'] = dict(
            type='CheckpointHook', interval=1)
        return cfg

    straight = Runner.from_cfg(Config(config('straight')))
    straight.train()

    # 5 iterations per epoch: iteration 13 is in the middle of epoch 3; the
    # last checkpoint is epoch 2's.
    crashed = Runner.from_cfg(Config(config('resumed')))
    crashed.register_hook(Crash(13))
    with pytest.raises(KeyboardInterrupt):
        crashed.train()
    saved = torch.load(osp.join(crashed.work_dir, 'epoch_2.pth'),
                       weights_only=False)
    assert saved[CHECKPOINT_KEY].shape == (100, 10)
    assert not any('predictions' in k for k in saved['state_dict'])
    assert not torch.isnan(saved[CHECKPOINT_KEY]).any()

    resumed_cfg = config('resumed')
    resumed_cfg['resume'] = True
    resumed = Runner.from_cfg(Config(resumed_cfg))
    tables = TablesAtEpochStart()
    resumed.register_hook(tables)
    resumed.train()
    assert resumed.epoch == 3 and len(tables.tables) == 1
    torch.testing.assert_close(tables.tables[0], saved[CHECKPOINT_KEY])
    torch.testing.assert_close(resumed.model.head.predictions,
                               straight.model.head.predictions,
                               rtol=1e-3, atol=1e-4)
    for name, value in straight.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[name], value,
                                   rtol=1e-4, atol=1e-5)

    # load_from (not resume) starts a new run: an empty table.
    loaded_cfg = config('loaded')
    loaded_cfg['load_from'] = osp.join(straight.work_dir, 'epoch_2.pth')
    loaded = Runner.from_cfg(Config(loaded_cfg))
    tables = TablesAtEpochStart()
    loaded.register_hook(tables)
    loaded.register_hook(Crash(1))
    with pytest.raises(KeyboardInterrupt):
        loaded.train()
    assert torch.isnan(tables.tables[0]).all()


class TablesAtEpochStart(Hook):

    def __init__(self):
        self.tables = []

    def before_train_epoch(self, runner):
        self.tables.append(runner.model.head.predictions.clone())


# --------------------------------------------------------------- errors
@pytest.mark.parametrize('kwargs, option', [
    (dict(alpha_T=1.5), 'alpha_T=1.5'),
    (dict(alpha_T=True), 'alpha_T=True'),
])
def test_bad_head_arguments(kwargs, option):
    with pytest.raises(ValueError, match=option):
        PSKDHead(3, 4, **kwargs)


def test_head_refuses_what_it_cannot_train_on():
    logits = torch.tensor(LOGITS, dtype=torch.float32)
    with pytest.raises(RuntimeError, match='PSKDHook'):
        PSKDHead(3, 4)._get_loss(logits, samples([0, 1, 2, 0], range(4)))
    head = make_head(1, 3)
    mixed = [s.set_gt_score(torch.eye(3)[0])
             for s in samples([0, 1, 2, 0], range(4))]
    with pytest.raises(ValueError, match='batch augmentation'):
        head._get_loss(logits, mixed)
    plain = [DataSample().set_gt_label(0) for _ in range(4)]
    with pytest.raises(ValueError, match='sample_idx'):
        head._get_loss(logits, plain)
    with pytest.raises(ValueError, match='sample_idx=9'):
        head._get_loss(logits, samples([0, 1, 2, 0], [0, 1, 2, 9]))
    with pytest.raises(ValueError, match='num_classes=3'):
        head.load_predictions(torch.zeros(5, 4))


def test_hook_needs_a_pskd_head_and_an_epoch_loop(tmp_path):
    cfg = pskd_config(tmp_path / 'a')
    cfg['model']['head'] = dict(type='LinearClsHead', num_classes=10,
                                in_channels=64)
    with pytest.raises(TypeError, match="model.head.type='PSKDHead'"):
        Runner.from_cfg(Config(cfg)).train()
    cfg = pskd_config(tmp_path / 'b')
    cfg['train_cfg'] = dict(by_epoch=False, max_iters=4)
    with pytest.raises(TypeError, match='epoch-based'):
        Runner.from_cfg(Config(cfg)).train()
    assert HOOKS.get('PSKDHook') is not None
    assert MODELS.get('PSKDHead') is PSKDHead


def test_configs_are_the_authors_setting():
    root = REPO
    for name in ('smallconvnet_1xb128-pskd_fashion-mnist.py',
                 'preact-resnet34_1xb64-pskd_cifar100.py'):
        cfg = Config.fromfile(osp.join(root, 'configs', 'baselines', name))
        assert cfg.model.head.type == 'PSKDHead'
        assert cfg.model.head.alpha_T == 0.8
        assert [h.type for h in cfg.custom_hooks] == ['PSKDHook']
        assert 'augments' not in (cfg.model.get('train_cfg') or {})
