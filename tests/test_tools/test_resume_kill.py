"""Resume after a real kill: tools/train.py is stopped by SIGKILL in the
middle of a stage and of an epoch, rerun with --resume, and ends with the
soft-label history, the final S and the final weights of an uninterrupted
run (trained in the test's own process), bit for bit.

The killed process waits after a chosen iteration
(tests/helpers/colam_test_hooks.py: PauseAfterIter) so that the kill lands at a
known point. The runs augment their images at random (crop and flip, as the
Fashion-MNIST configs), with and without dataloader workers, persistent or not:
AugmentationSeedHook seeds every sample's augmentation by its place in
training, so a resumed run draws what the uninterrupted one drew. CPU training
is otherwise deterministic: one thread, seeded shuffling."""
import json
import os
import os.path as osp
import signal
import sys
import time

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from tests.helpers.runner_config import colam_config
from tests.helpers.tool_runs import (TOOLS, dump_stacks, finish, start_tool,
                                     stop, write_config)

AUGMENTATION = [
    dict(type='RandomCrop', crop_size=28, padding=2),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]


def config(tmp_path, hook, max_epochs, num_workers=0, persistent=False):
    cfg = colam_config(tmp_path, max_epochs=max_epochs, hook=hook)
    cfg['default_hooks']['checkpoint'] = dict(
        type='CheckpointHook', interval=1)
    cfg['default_hooks']['sampler_seed'] = dict(
        type='AugmentationSeedHook')
    loader = cfg['train_dataloader']
    loader['dataset']['pipeline'] = AUGMENTATION
    loader.update(num_workers=num_workers, persistent_workers=persistent)
    return write_config(cfg, tmp_path / 'config.py',
                        [dict(type='PauseAfterIter')])


def train(config_path, work_dir, log, *args, **env):
    return start_tool([
        sys.executable,
        osp.join(TOOLS, 'train.py'), config_path, '--work-dir', work_dir,
        *args
    ], log, **env)


def straight_run(config_path, work_dir):
    """The uninterrupted run, in this process (saves starting one), with
    one thread as in the tool's processes."""
    cfg = Config.fromfile(config_path)
    cfg.work_dir = work_dir
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        Runner.from_cfg(cfg).train()
    finally:
        torch.set_num_threads(threads)


def wait_for(path, process, log, timeout=180):
    start = time.time()
    while not osp.exists(path):
        if process.poll() is not None:
            tail = open(log).read()[-3000:]
            raise AssertionError(f'the run ended ({process.returncode}) '
                                 f'before pausing:\n{tail}')
        if time.time() - start > timeout:
            dump_stacks(process)
            stop(process)
            tail = open(log).read()[-12000:]
            raise AssertionError('the run did not reach the pause within '
                                 f'{timeout} s; its stacks:\n{tail}')
        time.sleep(0.2)


def load_state(work_dir, epoch):
    return torch.load(
        osp.join(work_dir, f'epoch_{epoch}.pth'),
        weights_only=False)


# 10 iterations per epoch.
@pytest.mark.parametrize(
    'hook, max_epochs, kill_after_iter, last_checkpoint, updates, loader', [
        # Updates after epochs 1, 2 and 3; iteration 25 is the middle of
        # epoch 3 (stage 3), after epoch 2's checkpoint and update.
        (dict(interval=1, num_peers=5), 4, 25, 2, (1, 2, 3), (0, False)),
        # The same in 3 epochs, with two workers started every epoch.
        (dict(interval=1, num_peers=5), 3, 15, 1, (1, 2), (2, False)),
        # One update, after epoch 2, from the training logits of epochs 1-2
        # (the window); iteration 15 is the middle of epoch 2, inside the
        # window, after epoch 1's checkpoint, which holds the window's
        # partial sums. Two persistent workers.
        (dict(interval=2, peer_mode='online', online_window=2), 3, 15, 1,
         (2, ), (2, True)),
    ],
    ids=['resample', 'resample-workers', 'online-persistent-workers'])
def test_sigkill_then_resume_matches_uninterrupted_run(
        tmp_path, hook, max_epochs, kill_after_iter, last_checkpoint,
        updates, loader):
    config_path = config(tmp_path, hook, max_epochs, *loader)
    straight_dir = str(tmp_path / 'straight')
    killed_dir = str(tmp_path / 'killed')
    marker = str(tmp_path / 'paused')

    logs = {name: str(tmp_path / f'{name}.log')
            for name in ('killed', 'resumed')}
    killed = train(
        config_path,
        killed_dir,
        logs['killed'],
        COLAM_TEST_PAUSE_AFTER_ITER=kill_after_iter,
        COLAM_TEST_PAUSE_MARKER=marker)
    try:
        straight_run(config_path, straight_dir)  # meanwhile, in this process
        wait_for(marker, killed, logs['killed'])
        killed.send_signal(signal.SIGKILL)
        assert killed.wait(timeout=30) == -signal.SIGKILL
    finally:
        stop(killed)
    assert open(marker).read().split() == [
        str(kill_after_iter // 10), str(kill_after_iter)
    ]  # epoch (0-based) and iteration at the kill
    checkpoints = sorted(p for p in os.listdir(killed_dir)
                         if p.endswith('.pth'))
    assert checkpoints == [
        f'epoch_{e}.pth' for e in range(1, last_checkpoint + 1)
    ]
    if hook.get('peer_mode') == 'online':
        assert 'soft_label_peer_statistics' in load_state(
            killed_dir, last_checkpoint)

    before = set(os.listdir(killed_dir))
    resumed = train(config_path, killed_dir, logs['resumed'], '--resume')
    finish(resumed, logs['resumed'])
    # It resumed, rather than training again from the start: the first
    # iteration it logged follows the last checkpoint.
    run_dir, = (d for d in set(os.listdir(killed_dir)) - before
                if osp.isdir(osp.join(killed_dir, d, 'vis_data')))
    steps = [json.loads(line)['step'] for line in open(
        osp.join(killed_dir, run_dir, 'vis_data', 'scalars.json'))]
    assert min(steps) == 10 * last_checkpoint + 5  # LoggerHook interval 5

    history = sorted(os.listdir(osp.join(straight_dir, 'soft_labels')))
    assert history == sorted(
        f'epoch_{e}.{ext}' for e in updates for ext in ('npy', 'png'))
    # The tables (.npy) all; a heatmap (.png, drawn in a background thread)
    # of an update shortly before the kill may be missing.
    assert sorted(p for p in os.listdir(osp.join(killed_dir, 'soft_labels'))
                  if p.endswith('.npy')) == [
                      p for p in history if p.endswith('.npy')]
    for epoch in updates:
        name = osp.join('soft_labels', f'epoch_{epoch}.npy')
        expected = np.load(osp.join(straight_dir, name))
        assert not np.allclose(expected, np.eye(10))
        np.testing.assert_array_equal(
            np.load(osp.join(killed_dir, name)), expected)
    final = load_state(killed_dir, max_epochs)['state_dict']
    expected = load_state(straight_dir, max_epochs)['state_dict']
    assert final.keys() == expected.keys()
    for key in final:  # S and every weight, bit for bit
        torch.testing.assert_close(final[key], expected[key], rtol=0,
                                   atol=0, msg=key)


def dist_train(config_path, work_dir, log, *args, **env):
    return start_tool([
        'bash', osp.join(TOOLS, 'dist_train.sh'), config_path, 2,
        '--work-dir', work_dir, *args
    ], log, **env)


def test_two_process_sigkill_then_resume_matches_uninterrupted_run(
        tmp_path):
    """DDP with 2 gloo processes (5 iterations per epoch and rank), one
    persistent worker each, resample peers, updates after epochs 1-3; both
    ranks are killed in the middle of epoch 3. The resumed run's peers go
    through rank 0's BatchNorm buffers (what the checkpoint holds) as the
    uninterrupted run's do, so S and every weight end bit for bit the
    same."""
    config_path = config(tmp_path, dict(interval=1, num_peers=5), 4, 1, True)
    logs = {name: str(tmp_path / f'{name}.log')
            for name in ('straight', 'killed', 'resumed')}
    straight_dir = str(tmp_path / 'straight')
    killed_dir = str(tmp_path / 'killed')
    marker = str(tmp_path / 'paused')
    # One run at a time: 2 ranks and their workers per run on 2 cores.
    finish(dist_train(config_path, straight_dir, logs['straight']),
           logs['straight'])
    killed = dist_train(config_path, killed_dir, logs['killed'],
                        COLAM_TEST_PAUSE_AFTER_ITER=12,
                        COLAM_TEST_PAUSE_MARKER=marker)
    try:
        wait_for(marker, killed, logs['killed'])
        time.sleep(2)  # both ranks reach the pause
    finally:
        stop(killed)
    assert sorted(p for p in os.listdir(killed_dir) if p.endswith('.pth')) \
        == ['epoch_1.pth', 'epoch_2.pth']
    resumed = dist_train(config_path, killed_dir, logs['resumed'],
                         '--resume')
    finish(resumed, logs['resumed'])
    for epoch in (1, 2, 3):
        name = osp.join('soft_labels', f'epoch_{epoch}.npy')
        np.testing.assert_array_equal(
            np.load(osp.join(killed_dir, name)),
            np.load(osp.join(straight_dir, name)))
    final = load_state(killed_dir, 4)['state_dict']
    expected = load_state(straight_dir, 4)['state_dict']
    for key in final:  # S and every weight, bit for bit
        torch.testing.assert_close(final[key], expected[key], rtol=0,
                                   atol=0, msg=key)
