"""SoftLabelHook through MMEngine's Runner on fake Fashion-MNIST (IDX files):
updates against an independent computation, both peer modes, history files,
and resume after a crash mid-stage."""
import io
import os
import os.path as osp
import time

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmpretrain.structures import DataSample

from mmcolam.engine.hooks.soft_label_hook import collate_peers
from mmcolam.soft_labels import HeatmapWriter, draw_peers
from tests.helpers.colam_test_hooks import Crash
from tests.helpers.runner_config import TEMPERATURE, colam_config, softmax_rows


def build(cfg, extra_hooks=()):
    runner = Runner.from_cfg(Config(cfg))
    for hook in extra_hooks:
        runner.register_hook(hook, priority='LOW')
    return runner


class RecomputeResamplePeers(Hook):
    """After each update, run the peers again by hand and compare."""

    def __init__(self, num_peers):
        self.num_peers = num_peers
        self.checked = 0

    def after_train_epoch(self, runner):
        epoch = runner.epoch + 1
        if epoch >= runner.max_epochs:
            return
        model = runner.model
        dataset = runner.train_dataloader.dataset
        labels = np.array(dataset.get_gt_labels())
        peers = draw_peers(labels, 10, self.num_peers, [runner.seed, epoch])
        model.eval()
        with torch.no_grad():
            # The test pipeline is PackInputs alone: the raw image.
            images = torch.stack([
                torch.from_numpy(dataset.get_data_info(i)['img']).float()
                for i in peers
            ]).unsqueeze(1)
            logits = model.head(model.backbone(
                (images - 72.94) / 90.02)).numpy()
        model.train()
        means = np.stack([
            logits[labels[peers] == c].mean(0) for c in range(10)
        ])
        np.testing.assert_allclose(
            model.head.soft_labels.numpy(),
            softmax_rows(means / TEMPERATURE), rtol=1e-4, atol=1e-6)
        self.checked += 1


@pytest.mark.parametrize('num_peers,num_workers', [(None, 0), (4, 0),
                                                   (4, 1)])
def test_resample_update_is_softmax_of_mean_peer_logits(
        tmp_path, num_peers, num_workers):
    check = RecomputeResamplePeers(num_peers)
    cfg = colam_config(tmp_path, hook=dict(num_peers=num_peers))
    # With a worker, the peers cross processes through collate_peers.
    cfg['train_dataloader']['num_workers'] = num_workers
    runner = build(cfg, [check])
    runner.train()
    assert check.checked == 2  # after epochs 1 and 2; none after the last
    table = runner.model.head.soft_labels
    assert not torch.equal(table, torch.eye(10))
    torch.testing.assert_close(table.sum(1), torch.ones(10))
    history = osp.join(runner.work_dir, 'soft_labels')
    for epoch in (1, 2):
        assert osp.isfile(osp.join(history, f'epoch_{epoch}.png'))
    np.testing.assert_array_equal(
        np.load(osp.join(history, 'epoch_2.npy')), table.numpy())
    assert not osp.exists(osp.join(history, 'epoch_3.npy'))
    logged = open(osp.join(runner.log_dir, 'vis_data',
                           'scalars.json')).read()
    assert '"soft_labels/mean_entropy"' in logged
    assert '"soft_labels/true_class_mass"' in logged


class RecordTrainingLogits(Hook):
    """Record training logits and labels, to recompute online updates."""

    def __init__(self):
        self.records = {}

    def before_train(self, runner):
        head = runner.model.head
        head.register_forward_hook(
            lambda module, args, output: self.logits.append(
                output.detach().clone()))

    def before_train_epoch(self, runner):
        self.logits, self.labels = [], []
        self.records[runner.epoch + 1] = (self.logits, self.labels)

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.labels.append(
            torch.cat([s.gt_label for s in data_batch['data_samples']]))


class CheckOnlineUpdate(Hook):
    priority = 'LOW'

    def __init__(self, recorder, temperature=TEMPERATURE):
        self.recorder = recorder
        self.temperature = temperature
        self.checked = 0

    def after_train_epoch(self, runner):
        epoch = runner.epoch + 1
        if epoch >= runner.max_epochs:
            return
        logits, labels = self.recorder.records[epoch]
        logits = torch.cat(logits).numpy()
        labels = torch.cat(labels).numpy()
        means = np.stack(
            [logits[labels == c].mean(0) for c in range(10)])
        np.testing.assert_allclose(
            runner.model.head.soft_labels.numpy(),
            softmax_rows(means / self.temperature), rtol=1e-4, atol=1e-6)
        self.checked += 1


@pytest.mark.parametrize('label_temperature, target, expected', [
    (3.0, 'bounded', 3.0), (3.0, 'paper', 3.0), (None, 'bounded', 2.0),
    (None, 'paper', 1.5)])
def test_update_uses_the_label_temperature_else_what_the_form_implies(
        tmp_path, label_temperature, target, expected):
    recorder = RecordTrainingLogits()
    check = CheckOnlineUpdate(recorder, temperature=expected)
    cfg = colam_config(tmp_path, hook=dict(
        peer_mode='online', label_temperature=label_temperature))
    cfg['model']['head'].update(temperature=1.5, target=target)
    runner = build(cfg, [recorder, check])
    runner.train()
    assert check.checked == 2


def test_online_update_is_softmax_of_mean_training_logits(tmp_path):
    recorder = RecordTrainingLogits()
    check = CheckOnlineUpdate(recorder)
    runner = build(
        colam_config(tmp_path, hook=dict(peer_mode='online')),
        [recorder, check])
    runner.train()
    assert check.checked == 2
    table = runner.model.head.soft_labels
    assert not torch.equal(table, torch.eye(10))
    torch.testing.assert_close(table.sum(1), torch.ones(10))
    assert runner.model.head.peer_statistics is None
    history = osp.join(runner.work_dir, 'soft_labels')
    assert sorted(os.listdir(history)) == [
        'epoch_1.npy', 'epoch_1.png', 'epoch_2.npy', 'epoch_2.png'
    ]


@pytest.mark.parametrize('hook', [
    dict(interval=2, num_peers=5),
    dict(interval=2, peer_mode='online', online_window=2),
])
def test_resume_after_crash_mid_stage_gives_same_soft_labels(tmp_path, hook):
    def config(name):
        cfg = colam_config(tmp_path / name, max_epochs=5, hook=hook)
        cfg['default_hooks']['checkpoint'] = dict(
            type='CheckpointHook', interval=1)
        return cfg

    straight = build(config('straight'))
    straight.train()

    # 10 iterations per epoch: iteration 25 is in the middle of epoch 3, the
    # first epoch of the second stage; the last checkpoint is epoch 2's (the
    # first update). For the online window (epochs 3-4) the crash falls
    # inside the window, after epoch 3's checkpoint when at_iter=35.
    crash_at = 35 if hook.get('peer_mode') == 'online' else 25
    crashed = build(config('resumed'), [Crash(crash_at)])
    with pytest.raises(KeyboardInterrupt):
        crashed.train()
    resumed_cfg = config('resumed')
    resumed_cfg['resume'] = True
    resumed = build(resumed_cfg)
    resumed.train()

    torch.testing.assert_close(resumed.model.head.soft_labels,
                               straight.model.head.soft_labels,
                               rtol=1e-5, atol=1e-6)
    for epoch in (2, 4):
        np.testing.assert_allclose(
            np.load(osp.join(resumed.work_dir, 'soft_labels',
                             f'epoch_{epoch}.npy')),
            np.load(osp.join(straight.work_dir, 'soft_labels',
                             f'epoch_{epoch}.npy')),
            rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('peer_mode', ['resample', 'online'])
def test_iteration_based_loop_updates_every_interval_iterations(
        tmp_path, peer_mode):
    cfg = colam_config(tmp_path, hook=dict(interval=6, peer_mode=peer_mode))
    cfg['train_cfg'] = dict(by_epoch=False, max_iters=18)
    runner = build(cfg)
    runner.train()
    history = osp.join(runner.work_dir, 'soft_labels')
    assert sorted(os.listdir(history)) == [
        'iter_12.npy', 'iter_12.png', 'iter_6.npy', 'iter_6.png'
    ]
    first = np.load(osp.join(history, 'iter_6.npy'))
    assert not np.allclose(first, np.eye(10))
    np.testing.assert_allclose(first.sum(1), 1, rtol=1e-5)


def test_collate_peers_stacks_equal_shapes_and_lists_unequal_ones():
    samples = [
        dict(inputs=torch.full((1, 4, 4), float(i)),
             data_samples=DataSample().set_gt_label(i)) for i in range(3)
    ]
    inputs, labels = collate_peers(samples)
    torch.testing.assert_close(inputs['inputs'],
                               torch.stack([s['inputs'] for s in samples]))
    torch.testing.assert_close(labels, torch.tensor([0, 1, 2]))
    samples[1]['inputs'] = torch.zeros(1, 5, 3)
    inputs, labels = collate_peers(samples)
    assert [x.shape for x in inputs['inputs']] == [(1, 4, 4), (1, 5, 3),
                                                   (1, 4, 4)]
    torch.testing.assert_close(labels, torch.tensor([0, 1, 2]))


def test_heatmap_writer_reports_its_cpu_time(tmp_path):
    path = str(tmp_path / 'table.png')
    writer = HeatmapWriter(np.eye(3), path, ['a', 'b', 'c'], 'title')
    start = time.thread_time()
    writer.run()  # in this thread, to time it independently
    spent = time.thread_time() - start
    assert 0 < writer.cpu_seconds <= spent
    assert osp.getsize(path) > 0


def test_heatmap_seconds_count_each_heatmap_once(tmp_path, monkeypatch):
    def run(writer):  # a heatmap that "took" 100 s of CPU
        writer.cpu_seconds = 100.0

    monkeypatch.setattr(HeatmapWriter, 'run', run)
    runner = build(colam_config(tmp_path, max_epochs=3))
    start = time.perf_counter()
    runner.train()
    wall = time.perf_counter() - start
    # Two updates (after epochs 1 and 2), two heatmaps, in the message hub.
    heatmaps, _ = runner.message_hub.get_scalar(
        'soft_labels/heatmap_cpu_seconds').data
    assert heatmaps.tolist() == [100.0, 100.0]
    updates, _ = runner.message_hub.get_scalar(
        'soft_labels/update_seconds').data
    assert len(updates) == 2 and 0 < updates.sum() < wall


def test_online_sums_are_in_every_checkpoint_the_schedule_saves(tmp_path):
    """Iteration loop, saves at iterations 5, 15, 25 (interval 10 from
    save_begin 5), an update at 20 from the window 11-20: iter_15.pth holds
    the window's sums, and a run resumed from it gives the same S at 20."""
    def config(name):
        cfg = colam_config(tmp_path / name, hook=dict(
            interval=20, peer_mode='online', online_window=10))
        cfg['train_cfg'] = dict(by_epoch=False, max_iters=30)
        cfg['log_processor'] = dict(by_epoch=False)
        cfg['default_hooks']['checkpoint'] = dict(
            type='CheckpointHook', by_epoch=False, interval=10, save_begin=5)
        return cfg

    straight = build(config('straight'))
    straight.train()
    work_dir = straight.work_dir
    assert sorted(f for f in os.listdir(work_dir) if f.endswith('.pth')) \
        == ['iter_15.pth', 'iter_25.pth', 'iter_30.pth', 'iter_5.pth']
    checkpoint = torch.load(osp.join(work_dir, 'iter_15.pth'),
                            weights_only=False)
    stats = checkpoint['soft_label_peer_statistics']
    assert stats[:, 10].sum() == 5 * 20  # iterations 11-15, 20 images each
    expected = np.load(osp.join(work_dir, 'soft_labels', 'iter_20.npy'))

    resumed_cfg = config('resumed')
    resumed_cfg.update(resume=True,
                       load_from=osp.join(work_dir, 'iter_15.pth'))
    resumed = build(resumed_cfg)
    resumed.train()
    np.testing.assert_array_equal(
        np.load(osp.join(resumed.work_dir, 'soft_labels', 'iter_20.npy')),
        expected)


def test_heatmaps_reach_tensorboard(tmp_path):
    """The heatmap of every update is an image in TensorBoard's event file,
    at the update's iteration, with the pixels of the PNG beside it."""
    from matplotlib.image import imread
    from tensorboard.backend.event_processing.event_accumulator import \
        EventAccumulator
    cfg = colam_config(tmp_path, max_epochs=3)
    cfg['visualizer']['vis_backends'] = [
        dict(type='TensorboardVisBackend')]
    runner = build(cfg)
    runner.train()
    events = EventAccumulator(
        osp.join(runner.log_dir, 'vis_data'),
        size_guidance={'images': 0}).Reload()
    images = events.Images('soft_labels')
    iters_per_epoch = len(runner.train_dataloader)  # 200 images / 20
    assert [i.step for i in images] == [iters_per_epoch, 2 * iters_per_epoch]
    for event, epoch in zip(images, (1, 2)):
        decoded = imread(io.BytesIO(event.encoded_image_string),
                         format='png')
        png = imread(osp.join(runner.work_dir, 'soft_labels',
                              f'epoch_{epoch}.png'))
        assert decoded.shape == png.shape == (event.height, event.width, 3)
        np.testing.assert_array_equal(decoded, png)


@pytest.mark.parametrize('checkpoint_interval', [1, 2])
def test_update_that_cannot_save_history_stops_after_its_checkpoint(
        tmp_path, checkpoint_interval):
    """A file where work_dir/soft_labels/ should be (unwritable even for
    root): the first update (epoch 1) stops the run, after epoch_1.pth is
    saved with the updated S, whether the checkpoint schedule saves after
    epoch 1 (interval 1) or not (interval 2); resuming loses nothing."""
    def config():
        cfg = colam_config(tmp_path, hook=dict(num_peers=4))
        cfg['default_hooks']['checkpoint'] = dict(
            type='CheckpointHook', interval=checkpoint_interval)
        return cfg

    os.makedirs(tmp_path / 'work_dir')
    blocker = tmp_path / 'work_dir' / 'soft_labels'
    blocker.write_text('not a folder')
    check = RecomputeResamplePeers(num_peers=4)
    runner = build(config(), [check])
    checkpoint = osp.join(runner.work_dir, 'epoch_1.pth')
    with pytest.raises(OSError, match=(
            r'cannot save the soft labels after epoch 1 to work_dir/'
            rf'soft_labels/ \(.*File exists.*\)\. Training stopped after '
            rf'saving {checkpoint}, which holds them')):
        runner.train()
    assert check.checked == 1  # S is the update of epoch 1
    updated = runner.model.head.soft_labels
    assert not torch.allclose(updated, torch.eye(10))
    saved = torch.load(checkpoint, weights_only=False)
    assert saved['meta']['epoch'] == 1
    torch.testing.assert_close(saved['state_dict']['head.soft_labels'],
                               updated, rtol=0, atol=0)
    assert not osp.exists(osp.join(runner.work_dir, 'epoch_2.pth'))

    blocker.unlink()
    resumed_cfg = config()
    resumed_cfg['resume'] = True  # finds epoch_1.pth by itself
    resumed = build(resumed_cfg)
    resumed.train()
    assert sorted(os.listdir(osp.join(resumed.work_dir, 'soft_labels'))) \
        == ['epoch_2.npy', 'epoch_2.png']


def test_iteration_loop_saves_the_updates_checkpoint_before_it_stops(
        tmp_path):
    """Iteration loop, an update at iteration 6 that cannot save its
    history, checkpoints every 4 iterations: iter_6.pth is saved for it,
    at iteration 6, with the updated S."""
    cfg = colam_config(tmp_path, hook=dict(interval=6, num_peers=4))
    cfg['train_cfg'] = dict(by_epoch=False, max_iters=18)
    cfg['default_hooks']['checkpoint'] = dict(
        type='CheckpointHook', by_epoch=False, interval=4)
    os.makedirs(tmp_path / 'work_dir')
    (tmp_path / 'work_dir' / 'soft_labels').write_text('not a folder')
    runner = build(cfg)
    with pytest.raises(OSError, match='after iter 6 .* after saving .*'
                       'iter_6.pth'):
        runner.train()
    saved = torch.load(osp.join(runner.work_dir, 'iter_6.pth'),
                       weights_only=False)
    assert saved['meta']['iter'] == 6
    updated = runner.model.head.soft_labels
    assert not torch.allclose(updated, torch.eye(10))
    torch.testing.assert_close(saved['state_dict']['head.soft_labels'],
                               updated, rtol=0, atol=0)
    assert sorted(f for f in os.listdir(runner.work_dir)
                  if f.endswith('.pth')) == ['iter_4.pth', 'iter_6.pth']
