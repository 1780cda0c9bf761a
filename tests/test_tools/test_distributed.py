"""Real two-process training on CPU (gloo) through tools/dist_train.sh
(torchrun) on fake Fashion-MNIST, and the Slurm scripts' commands.

Every rank dumps what it saw at each soft-label update
(tests/helpers/colam_test_hooks.py: DumpSoftLabelUpdates); the tests check that
S is bitwise identical on every rank, in the history file and in the
checkpoint, that the peers are split across the ranks without overlap or loss,
and that S equals an independent one-process recomputation from the ranks'
weights."""
import json
import os
import os.path as osp
import subprocess

import mmengine
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmpretrain.registry import DATASETS, MODELS

import mmcolam  # noqa: F401
from mmcolam.engine.launch import setup_cpu_distributed
from mmcolam.soft_labels import draw_peers
from tests.helpers.runner_config import TEMPERATURE, colam_config, softmax_rows
from tests.helpers.tool_runs import (REPO, TOOLS, finish, load_tool, run_tool,
                                     start_tool, stop, write_config)

NUM_CLASSES = 10
NUM_PEERS = 4
UPDATES = (1, 2)  # 3 epochs, interval 1: updates after epochs 1 and 2
ONLINE_IMAGES = 199


def dist_config(tmp_path, peer_mode):
    cfg = colam_config(
        tmp_path, max_epochs=3,
        hook=dict(peer_mode=peer_mode, num_peers=NUM_PEERS))
    cfg['default_hooks']['checkpoint'] = dict(
        type='CheckpointHook', interval=1)
    if peer_mode == 'online':
        # An odd number of images: DefaultSampler pads rank 1's share with
        # one repeated image, which the statistics must not count.
        cfg['train_dataloader']['dataset']['indices'] = ONLINE_IMAGES
    return write_config(
        cfg, tmp_path / 'config.py',
        [dict(type='DumpSoftLabelUpdates', out_dir=str(tmp_path / 'dumps'))])


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    """Both 2-process runs (resample and online peers), started together:
    4 single-threaded processes share the 2 cores."""
    started = {}
    try:
        for mode in ('resample', 'online'):
            tmp = tmp_path_factory.mktemp(f'dist_{mode}')
            config = dist_config(tmp, mode)
            log = tmp / 'train.log'
            started[mode] = (tmp, config, log, start_tool(
                ['bash', osp.join(TOOLS, 'dist_train.sh'), config, 2], log))
        for tmp, config, log, process in started.values():
            finish(process, log)  # return code 0, else the log's tail
    finally:
        for _, _, _, process in started.values():
            stop(process)
    return {mode: (tmp, config) for mode, (tmp, config, _, _) in
            started.items()}


def load_dump(tmp, rank, epoch):
    return np.load(tmp / 'dumps' / f'rank{rank}_epoch{epoch}.npz')


def train_labels(cfg):
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    return dataset, np.array(dataset.get_gt_labels())


def peer_logits(cfg, state_dict, dataset, indices):
    """Logits of the samples ``indices`` by hand: the test pipeline is
    PackInputs alone, so the raw image normalised as the data preprocessor
    does, through backbone and head in eval mode."""
    model = MODELS.build(cfg.model)
    model.load_state_dict(state_dict)
    model.eval()
    images = torch.stack([
        torch.from_numpy(dataset.get_data_info(int(i))['img']).float()
        for i in indices
    ]).unsqueeze(1)
    with torch.no_grad():
        return model.head(model.backbone((images - 72.94) / 90.02)).numpy()


def assert_same_soft_labels_everywhere(tmp, epoch):
    """S after the update of ``epoch``: rank 0 == rank 1 == the history file
    (written by rank 0) == the checkpoint, bit for bit."""
    rank0 = load_dump(tmp, 0, epoch)['soft_labels']
    rank1 = load_dump(tmp, 1, epoch)['soft_labels']
    assert rank0.dtype == np.float32
    np.testing.assert_array_equal(rank0, rank1)
    np.testing.assert_array_equal(
        rank0,
        np.load(tmp / 'work_dir' / 'soft_labels' / f'epoch_{epoch}.npy'))
    checkpoint = torch.load(
        tmp / 'work_dir' / f'epoch_{epoch}.pth', weights_only=False)
    np.testing.assert_array_equal(
        rank0, checkpoint['state_dict']['head.soft_labels'].numpy())
    assert not np.allclose(rank0, np.eye(NUM_CLASSES))
    return rank0


@pytest.mark.parametrize('world_size', [1, 2, 3, 4])
@pytest.mark.parametrize('num_peers', [None, 1, 3, 7])
def test_rank_shards_cover_the_drawn_peers_exactly(world_size, num_peers):
    # Unbalanced classes, one smaller than some K: 2, 5, 9 and 30 samples.
    labels = np.random.default_rng(0).permutation(
        np.repeat(np.arange(4), [2, 5, 9, 30]))
    peers = draw_peers(labels, 4, num_peers, [0, 1])
    shards = [peers[rank::world_size] for rank in range(world_size)]
    union = np.concatenate(shards)
    assert len(union) == len(peers) == len(np.unique(union))  # no overlap
    np.testing.assert_array_equal(np.sort(union), np.sort(peers))  # no loss
    expected = [min(n, num_peers or n) for n in (2, 5, 9, 30)]
    np.testing.assert_array_equal(np.bincount(labels[union]), expected)
    sizes = [len(s) for s in shards]
    assert max(sizes) - min(sizes) <= 1  # balanced across ranks


def test_two_process_resample_peers(runs):
    tmp, config = runs['resample']
    cfg = Config.fromfile(config)
    dataset, labels = train_labels(cfg)
    for epoch in UPDATES:
        table = assert_same_soft_labels_everywhere(tmp, epoch)
        peers = draw_peers(labels, NUM_CLASSES, NUM_PEERS, [0, epoch])
        sums, counts = [], []
        for rank in (0, 1):
            dump = load_dump(tmp, rank, epoch)
            local = dump['local_table']
            shard = peers[rank::2]
            # Each rank counted exactly the classes of its shard ...
            np.testing.assert_array_equal(
                local[:, NUM_CLASSES],
                np.bincount(labels[shard], minlength=NUM_CLASSES))
            # ... and summed exactly its shard's logits, computed again here
            # from that rank's weights, whose BN running statistics are rank
            # 0's (broadcast before the peer pass: DDP does not).
            state = torch.load(
                tmp / 'dumps' / f'rank{rank}_epoch{epoch}.pth')
            rank0_state = torch.load(
                tmp / 'dumps' / f'rank0_epoch{epoch}.pth')
            for name in ('backbone.layers.1.running_mean',
                         'backbone.layers.1.running_var'):
                torch.testing.assert_close(state[name], rank0_state[name],
                                           rtol=0, atol=0)
            logits = peer_logits(cfg, state, dataset, shard)
            expected = np.stack([
                logits[labels[shard] == c].sum(0) for c in range(NUM_CLASSES)
            ])
            np.testing.assert_allclose(
                local[:, :NUM_CLASSES], expected, rtol=1e-4, atol=1e-4)
            assert not local[:, -1].any()  # no non-finite peers
            sums.append(expected)
            counts.append(local[:, NUM_CLASSES])
            # The reduced table is the same on both ranks.
            np.testing.assert_array_equal(dump['reduced_table'],
                                          load_dump(tmp, 0,
                                                    epoch)['reduced_table'])
        reduced = load_dump(tmp, 0, epoch)['reduced_table']
        # The all-reduce saw every drawn peer once: K per class, K*C in all.
        np.testing.assert_array_equal(reduced[:, NUM_CLASSES],
                                      np.full(NUM_CLASSES, NUM_PEERS))
        assert reduced[:, NUM_CLASSES].sum() == NUM_PEERS * NUM_CLASSES
        np.testing.assert_array_equal(reduced[:, NUM_CLASSES], sum(counts))
        # One process over the union of both shards: softmax(mean / T).
        means = sum(sums) / NUM_PEERS
        np.testing.assert_allclose(
            table, softmax_rows(means / TEMPERATURE), rtol=1e-4, atol=1e-6)
    # Parameters are the same on both ranks (DDP), at every update.
    for epoch in UPDATES:
        states = [
            torch.load(tmp / 'dumps' / f'rank{r}_epoch{epoch}.pth')
            for r in (0, 1)
        ]
        model = MODELS.build(cfg.model)
        for name, _ in model.named_parameters():
            torch.testing.assert_close(
                states[0][name], states[1][name], rtol=0, atol=0)


def test_two_process_online_peers(runs):
    tmp, config = runs['online']
    cfg = Config.fromfile(config)
    _, all_labels = train_labels(cfg)
    assert len(all_labels) == ONLINE_IMAGES
    for epoch in UPDATES:
        table = assert_same_soft_labels_everywhere(tmp, epoch)
        dumps = [load_dump(tmp, rank, epoch) for rank in (0, 1)]
        logits, labels = [], []
        for rank, dump in enumerate(dumps):
            # Each rank trained on 100 images; rank 1's last one repeats an
            # image of rank 0 (DefaultSampler's padding) and is not counted.
            assert len(dump['train_labels']) == 100
            real = 100 - rank
            np.testing.assert_array_equal(
                dump['local_table'][:, NUM_CLASSES],
                np.bincount(dump['train_labels'][:real],
                            minlength=NUM_CLASSES))
            logits.append(dump['train_logits'][:real])
            labels.append(dump['train_labels'][:real])
        # Together: every training image once.
        np.testing.assert_array_equal(
            dumps[0]['reduced_table'][:, NUM_CLASSES],
            np.bincount(all_labels, minlength=NUM_CLASSES))
        logits, labels = np.concatenate(logits), np.concatenate(labels)
        means = np.stack(
            [logits[labels == c].mean(0) for c in range(NUM_CLASSES)])
        np.testing.assert_allclose(
            table, softmax_rows(means / TEMPERATURE), rtol=1e-4, atol=1e-6)


def test_dist_test_matches_single_process_test(runs, tmp_path):
    tmp, config = runs['resample']
    checkpoint = tmp / 'work_dir' / 'epoch_3.pth'
    out = tmp_path / 'metrics.json'
    run_tool([
        'bash',
        osp.join(TOOLS, 'dist_test.sh'), config, checkpoint, 2, '--work-dir',
        tmp_path / 'dist', '--out', out, '--out-item', 'metrics'
    ], tmp_path / 'test.log')
    distributed = json.load(open(out))
    single = load_tool('test').main(
        [config, str(checkpoint), '--work-dir', str(tmp_path / 'single')])
    assert distributed == pytest.approx(single)
    assert 0 <= distributed['accuracy/top1'] <= 100


def test_test_tool_flags_on_a_colam_checkpoint(runs, tmp_path):
    """tools/test.py in one process: --out predictions, --out-item metrics
    with --tta (the classifier wrapped in a TTA model, which SoftLabelHook
    sees through) and --amp (bfloat16 autocast on CPU)."""
    tmp, config = runs['resample']
    checkpoint = str(tmp / 'work_dir' / 'epoch_3.pth')
    test_tool = load_tool('test')
    predictions = tmp_path / 'pred.pkl'
    plain = test_tool.main([
        config, checkpoint, '--work-dir', str(tmp_path / 'plain'), '--out',
        str(predictions)
    ])
    dumped = mmengine.load(predictions)
    assert len(dumped) == 100
    assert all(len(d['pred_score']) == NUM_CLASSES for d in dumped)
    accuracy = np.mean([
        int(d['pred_label'][0]) == int(d['gt_label'][0]) for d in dumped
    ]) * 100
    assert plain['accuracy/top1'] == pytest.approx(accuracy)
    metrics = tmp_path / 'tta.json'
    tta = test_tool.main([
        config, checkpoint, '--work-dir', str(tmp_path / 'tta'), '--tta',
        '--amp', '--out', str(metrics), '--out-item', 'metrics'
    ])
    assert json.load(open(metrics)) == pytest.approx(tta)
    assert 0 <= tta['accuracy/top1'] <= 100


def fake_srun(tmp_path):
    """A ``srun`` that writes its arguments, one a line, and exits."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    srun = bin_dir / 'srun'
    srun.write_text('#!/usr/bin/env bash\n'
                    f'printf "%s\\n" "$@" > {tmp_path}/srun_args\n')
    srun.chmod(0o755)
    return bin_dir


@pytest.mark.parametrize('script, args, expected_tail', [
    ('slurm_train.sh', ['part', 'job', 'cfg.py', 'wd', '--amp'],
     ['train.py', 'cfg.py', '--work-dir=wd', '--launcher=slurm', '--amp']),
    ('slurm_test.sh', ['part', 'job', 'cfg.py', 'ckpt.pth', '--out', 'o.pkl'],
     ['test.py', 'cfg.py', 'ckpt.pth', '--launcher=slurm', '--out', 'o.pkl']),
])
def test_slurm_scripts_start_one_task_per_gpu(tmp_path, script, args,
                                              expected_tail):
    env = dict(os.environ, GPUS='4', GPUS_PER_NODE='2', CPUS_PER_TASK='3',
               SRUN_ARGS='--qos=low --time=1:00:00', PYTHON='py3')
    env['PATH'] = f'{fake_srun(tmp_path)}{os.pathsep}{env["PATH"]}'
    (tmp_path / 'cfg.py').write_text('')  # the scripts check it exists
    subprocess.run(['bash', osp.join(TOOLS, script)] + args, env=env,
                   check=True, capture_output=True, cwd=tmp_path)
    srun_args = (tmp_path / 'srun_args').read_text().splitlines()
    assert srun_args[:8] == [
        '-p', 'part', '--job-name=job', '--gres=gpu:2', '--ntasks=4',
        '--ntasks-per-node=2', '--cpus-per-task=3', '--kill-on-bad-exit=1'
    ]
    assert srun_args[8:12] == ['--qos=low', '--time=1:00:00', 'py3', '-u']
    assert srun_args[12] == osp.join(TOOLS, expected_tail[0])
    assert srun_args[13:] == expected_tail[1:]


@pytest.mark.parametrize('script', ['dist_train.sh', 'dist_test.sh',
                                    'slurm_train.sh', 'slurm_test.sh'])
def test_launch_scripts_print_usage_without_arguments(script):
    result = subprocess.run(['bash', osp.join(TOOLS, script)],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.startswith('usage:')


@pytest.mark.parametrize('script, args', [
    ('dist_train.sh', ['configs/colam/resnet50_imagnet.py', '8']),
    ('dist_test.sh', ['configs/colam/resnet50_imagnet.py', 'x.pth', '8']),
    ('slurm_train.sh', ['p', 'job', 'configs/colam/resnet50_imagnet.py',
                        'work']),
    ('slurm_test.sh', ['p', 'job', 'configs/colam/resnet50_imagnet.py',
                       'x.pth']),
])
def test_launch_scripts_refuse_a_missing_config_in_one_line(script, args):
    result = subprocess.run(['bash', osp.join(TOOLS, script), *args],
                            capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f'{osp.join(TOOLS, script)}: no config file '
        'configs/colam/resnet50_imagnet.py']


def test_cpu_launch_needs_gloo_and_the_pytorch_launcher():
    if torch.cuda.is_available():
        pytest.skip('checks the CPU-only path')
    cfg = Config(dict(launcher='pytorch',
                      env_cfg=dict(dist_cfg=dict(backend='nccl'))))
    with pytest.raises(ValueError,
                       match=r"backend='nccl' needs CUDA.*backend='gloo'"):
        setup_cpu_distributed(cfg)
    cfg = Config(dict(launcher='slurm',
                      env_cfg=dict(dist_cfg=dict(backend='gloo'))))
    with pytest.raises(ValueError,
                       match='--launcher slurm needs CUDA.*--launcher py'):
        setup_cpu_distributed(cfg)
    setup_cpu_distributed(Config(dict(launcher='none')))  # nothing to do
