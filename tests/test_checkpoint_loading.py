"""Checkpoints that MMEngine 0.10.7 writes load under torch >= 2.6, and a
checkpoint whose pickle would run code is refused by every entry point."""
import copy
import io
import os
import pickle
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner, load_checkpoint
from mmengine.runner.checkpoint import CheckpointLoader
from runner_config import fashion_mnist_config
from tool_runs import load_tool, start_tool, stop, write_config

import mmcolam  # noqa: F401
from mmcolam.engine.checkpoint_loading import CHECKPOINT_GLOBALS


class RunsCommand:
    """Unpickling it runs ``touch <marker>``: what a hostile file does."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


@pytest.fixture(scope='module', autouse=True)
def amp_on_cpu():
    """MMEngine's AmpOptimWrapper refuses to be built without a GPU; on CPU
    it trains under bfloat16 autocast (tools/train.py --amp)."""
    from mmengine.optim.optimizer import amp_optimizer_wrapper
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(amp_optimizer_wrapper, 'is_cuda_available',
                      lambda: True)
        yield


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A checkpoint with scheduler, best-checkpoint, message-hub and AMP
    loss-scaler state, and its config."""
    tmp_path = tmp_path_factory.mktemp('trained')
    cfg = fashion_mnist_config(tmp_path, max_epochs=2)
    cfg.update(
        param_scheduler=dict(type='MultiStepLR', milestones=[1]),
        optim_wrapper=dict(
            type='AmpOptimWrapper', dtype='bfloat16', loss_scale='dynamic',
            optimizer=dict(type='SGD', lr=0.05, momentum=0.9)),
        val_dataloader=cfg['test_dataloader'],
        val_evaluator=cfg['test_evaluator'],
        val_cfg=dict(),
        experiment_name='checkpoint_loading')
    cfg['default_hooks']['checkpoint'] = dict(
        type='CheckpointHook', interval=1, save_best='accuracy/top1')
    Runner.from_cfg(Config(cfg)).train()
    return tmp_path / 'work_dir', cfg


@pytest.fixture
def hostile(tmp_path):
    marker = tmp_path / 'code_ran'
    path = tmp_path / 'evil.pth'
    torch.save(dict(state_dict={}, meta=RunsCommand(marker)), path)
    return str(path), marker


def test_real_checkpoints_load_with_everything_resume_needs(trained):
    work_dir, _ = trained
    if torch.__version__ >= '2.6':
        # What breaks MMEngine's own loader: torch's new default.
        with pytest.raises(pickle.UnpicklingError):
            torch.load(work_dir / 'epoch_2.pth')
    best = [p for p in os.listdir(work_dir) if p.startswith('best_')]
    assert best, 'save_best wrote no best checkpoint'
    for name in ['epoch_1.pth', 'epoch_2.pth']:
        checkpoint = CheckpointLoader.load_checkpoint(
            str(work_dir / name), map_location='cpu')
        assert 'message_hub' in checkpoint and 'param_schedulers' in checkpoint
        assert 'loss_scaler' in checkpoint['optimizer']
    checkpoint = CheckpointLoader.load_checkpoint(
        str(work_dir / best[0]), map_location='cpu')
    assert checkpoint['meta']['epoch'] in (1, 2)


def test_resume_from_the_safe_loader_continues_the_run(trained, tmp_path):
    work_dir, cfg = trained
    cfg = dict(cfg, work_dir=str(tmp_path / 'resumed'), max_epochs=3,
               resume=True, load_from=str(work_dir / 'epoch_2.pth'),
               experiment_name='checkpoint_loading_resume')
    cfg['train_cfg'] = dict(by_epoch=True, max_epochs=3)
    runner = Runner.from_cfg(Config(cfg))
    runner.train()
    assert runner.epoch == 3
    loss = runner.message_hub.get_scalar('train/loss')
    # The resumed history holds the two epochs trained before the resume.
    assert len(loss.data[0]) > 10


@pytest.mark.parametrize('entry', ['CheckpointLoader', 'load_checkpoint',
                                   'init_model'])
def test_hostile_checkpoint_is_refused(hostile, entry, tmp_path):
    path, marker = hostile
    with pytest.raises(pickle.UnpicklingError, match='refused to load'):
        if entry == 'CheckpointLoader':
            CheckpointLoader.load_checkpoint(path, map_location='cpu')
        elif entry == 'load_checkpoint':
            model = torch.nn.Linear(2, 2)
            load_checkpoint(model, path, map_location='cpu')
        else:
            from mmpretrain.apis import init_model
            cfg = fashion_mnist_config(tmp_path)
            init_model(Config(cfg), path, device='cpu')
    assert not marker.exists()


def test_hostile_checkpoint_is_refused_by_test_tool(hostile, trained,
                                                    tmp_path):
    path, marker = hostile
    _, cfg = trained
    config = write_config(dict(cfg, work_dir=str(tmp_path / 'w')),
                          tmp_path / 'cfg.py')
    log = tmp_path / 'log.txt'
    process = start_tool([sys.executable, 'tools/test.py', config, path],
                         log)
    try:
        process.wait(timeout=240)
    finally:
        stop(process)
    assert process.returncode != 0
    assert 'refused to load' in log.read_text()
    assert not marker.exists()



def weights_only_load(data: bytes):
    with torch.serialization.safe_globals(CHECKPOINT_GLOBALS):
        return torch._weights_only_unpickler.Unpickler(
            io.BytesIO(data), encoding='utf-8').load()


def test_numpy_1_names_load():
    array = np.arange(6, dtype=np.float64).reshape(2, 3)
    data = pickle.dumps(dict(a=array, s=np.int64(7)), protocol=2)
    assert b'numpy._core.multiarray' in data
    old = data.replace(b'numpy._core.multiarray', b'numpy.core.multiarray')
    loaded = weights_only_load(old)
    np.testing.assert_array_equal(loaded['a'], array)
    assert loaded['s'] == 7 and loaded['s'].dtype == np.int64


class LooksUp:

    def __init__(self, owner, name):
        self.owner, self.name = owner, name

    def __reduce__(self):
        return getattr, (self.owner, self.name)


def test_getattr_is_allowed_only_for_history_buffer_statistics():
    from mmengine.logging import HistoryBuffer
    data = pickle.dumps(LooksUp(HistoryBuffer, 'mean'), protocol=2)
    assert weights_only_load(data) is HistoryBuffer.mean
    for owner, name in [(HistoryBuffer, '__init__'), (np.ndarray, 'tofile')]:
        with pytest.raises(Exception, match='refusing getattr'):
            weights_only_load(pickle.dumps(LooksUp(owner, name), protocol=2))


def test_hostile_checkpoint_is_refused_by_publish_model(hostile, trained,
                                                        tmp_path):
    path, marker = hostile
    _, cfg = trained
    cfg = copy.deepcopy(cfg)
    cfg['model']['head'].update(
        type='COLAMHead', loss=dict(type='CrossEntropyLoss', use_soft=True))
    config = write_config(cfg, tmp_path / 'cfg.py')
    publish_model = load_tool('model_converters/publish_model')
    with pytest.raises(pickle.UnpicklingError, match='refused to load'):
        publish_model.publish(config, path, str(tmp_path / 'out'))
    assert not marker.exists()


def test_truncated_checkpoint_is_named_on_resume(trained, tmp_path):
    work_dir, cfg = trained
    data = (work_dir / 'epoch_1.pth').read_bytes()
    truncated = tmp_path / 'epoch_1.pth'
    truncated.write_bytes(data[:len(data) // 2])
    cfg = dict(cfg, work_dir=str(tmp_path / 'resumed'), resume=True,
               load_from=str(truncated),
               experiment_name='checkpoint_loading_truncated')
    with pytest.raises(RuntimeError, match='epoch_1.pth.*truncated'):
        Runner.from_cfg(Config(cfg)).train()
