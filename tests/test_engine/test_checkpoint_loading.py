"""Checkpoints that MMEngine 0.10.7 writes load under torch >= 2.6, from
every source MMEngine knows, and a checkpoint whose pickle would run code or
forge a numpy object is refused by every entry point."""
import copy
import gc
import io
import os
import pickle
import sys
from collections import OrderedDict

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner, load_checkpoint
from mmengine.runner.checkpoint import CheckpointLoader

import mmcolam  # noqa: F401
from mmcolam.engine.checkpoint_objects import (CHECKPOINT_GLOBALS,
                                               rebuild_checkpoint_objects)
from tests.helpers.hostile_pickles import (FORGED_NUMPY, RunsCommand,
                                           history_buffer, wrapped)
from tests.helpers.runner_config import fashion_mnist_config
from tests.helpers.tool_runs import load_tool, start_tool, stop, write_config


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


@pytest.fixture(params=['runs_command', 'forged_array'])
def hostile(request, tmp_path):
    """A file that runs ``touch <marker>``, or one that holds a forged
    object pointer (a SIGSEGV when read or freed), and the marker."""
    marker = tmp_path / 'code_ran'
    path = tmp_path / 'evil.pth'
    if request.param == 'runs_command':
        checkpoint = dict(state_dict={}, meta=RunsCommand(marker))
    else:
        checkpoint = wrapped(FORGED_NUMPY['new_structured'], 'ordered_dict')
    torch.save(checkpoint, path)
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


@pytest.mark.parametrize('source', ['local', 'https'])
def test_hostile_checkpoint_is_refused_by_test_tool(hostile, trained, source,
                                                    tmp_path):
    """``tools/test.py CFG https://...`` with a hostile file already in the
    torch hub cache: no network needed, as an attacker would have it."""
    path, marker = hostile
    _, cfg = trained
    config = write_config(dict(cfg, work_dir=str(tmp_path / 'w')),
                          tmp_path / 'cfg.py')
    env = {}
    if source == 'https':
        cache = tmp_path / 'torch_home' / 'hub' / 'checkpoints'
        cache.mkdir(parents=True)
        os.replace(path, cache / 'evil.pth')
        path, env = 'https://example.invalid/evil.pth', dict(
            TORCH_HOME=str(tmp_path / 'torch_home'))
    log = tmp_path / 'log.txt'
    process = start_tool([sys.executable, 'tools/test.py', config, path],
                         log, **env)
    try:
        process.wait(timeout=240)
    finally:
        stop(process)
    assert process.returncode == 1, log.read_text()[-2000:]
    assert 'refused to load' in log.read_text()
    assert not marker.exists()


def weights_only_load(data: bytes):
    with torch.serialization.safe_globals(CHECKPOINT_GLOBALS):
        return rebuild_checkpoint_objects(
            torch._weights_only_unpickler.Unpickler(
                io.BytesIO(data), encoding='utf-8').load())


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


@pytest.mark.parametrize('how', ['ordered_dict', 'meta', 'message_hub'])
@pytest.mark.parametrize('name', sorted(FORGED_NUMPY))
def test_forged_numpy_objects_are_refused(name, how, tmp_path):
    path = tmp_path / 'forged.pth'
    torch.save(wrapped(FORGED_NUMPY[name], how), path)
    with pytest.raises(pickle.UnpicklingError, match='refused to load'):
        CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
    gc.collect()  # a forged array that got through dies when freed


def test_numeric_numpy_objects_load_exactly(tmp_path):
    arrays = [
        np.array([[0, 1, 1], [1, 0, 3]]).astype(dtype)
        for dtype in ('?', 'i1', 'i2', 'i4', 'i8', 'u1', 'u2', 'u4', 'u8',
                      'f2', 'f4', 'f8', 'c8', 'c16', '>f8', '>i4')
    ] + [np.asfortranarray(np.random.rand(3, 4)), np.array(2.5),
         np.zeros((0, 3))]
    scalars = [np.float64(0.1), np.int64(-3), np.bool_(True), np.float32(2)]
    dtypes = [np.dtype('f4'), np.dtype('>i8')]
    path = tmp_path / 'numeric.pth'
    torch.save(dict(arrays=arrays, scalars=tuple(scalars), dtypes=dtypes),
               path)
    loaded = CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
    for got, want in zip(loaded['arrays'], arrays):
        assert type(got) is np.ndarray and got.dtype == want.dtype
        assert got.flags.f_contiguous == want.flags.f_contiguous
        np.testing.assert_array_equal(got, want)
    assert isinstance(loaded['scalars'], tuple)
    for got, want in zip(loaded['scalars'], scalars):
        assert type(got) is type(want) and got == want
    assert loaded['dtypes'] == dtypes


def test_checkpoint_cannot_change_history_buffer_statistics(tmp_path):
    from mmengine.logging import HistoryBuffer
    path = tmp_path / 'statistics.pth'
    torch.save(dict(message_hub=dict(log_scalars=dict(
        loss=history_buffer(dict(mean=HistoryBuffer.max))))), path)
    loaded = CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
    buffer = loaded['message_hub']['log_scalars']['loss']
    assert type(buffer) is HistoryBuffer and buffer.mean() == 3.0
    assert HistoryBuffer([1, 5], [1, 1]).mean() == 3.0
    assert HistoryBuffer._statistics_methods['mean'] is HistoryBuffer.mean
    torch.save(dict(h=history_buffer({}, _statistics_methods={})), path)
    with pytest.raises(pickle.UnpicklingError, match='HistoryBuffer with'):
        CheckpointLoader.load_checkpoint(str(path), map_location='cpu')


def scheme_urls():
    """Each MMEngine scheme that resolves to a URL, with a name it knows."""
    from mmengine.runner import checkpoint as mmengine_checkpoint
    torchvision = mmengine_checkpoint.get_torchvision_models()['resnet18']
    openmmlab = mmengine_checkpoint.get_external_models()['vgg16_caffe']
    mmcls = mmengine_checkpoint.get_mmcls_models()['vgg11']
    return [('https://example.invalid/x.pth', 'https://example.invalid/x.pth'),
            ('http://example.invalid/x.pth', 'http://example.invalid/x.pth'),
            ('torchvision://resnet18', torchvision),
            ('modelzoo://resnet18', torchvision),
            ('open-mmlab://vgg16_caffe', openmmlab),
            ('openmmlab://vgg16_caffe', openmmlab), ('mmcls://vgg11', mmcls)]


@pytest.mark.parametrize('name,url', scheme_urls())
def test_every_url_scheme_loads_safely_from_the_hub_cache(
        name, url, tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, '_hub_dir', str(tmp_path))
    cached = tmp_path / 'checkpoints' / url.rsplit('/', 1)[1]
    cached.parent.mkdir()
    weights = OrderedDict(**{'backbone.w': torch.arange(3.)})
    torch.save(dict(state_dict=weights, meta=dict(a=np.float64(1))), cached)
    loaded = CheckpointLoader.load_checkpoint(name, map_location='cpu')
    if name.startswith('mmcls://'):  # MMEngine keeps the backbone's weights
        assert list(loaded['state_dict']) == ['w']
    else:
        assert torch.equal(loaded['state_dict']['backbone.w'],
                           torch.arange(3.))
    marker = tmp_path / 'code_ran'
    torch.save(dict(state_dict={}, meta=RunsCommand(marker)), cached)
    with pytest.raises(pickle.UnpicklingError, match='refused to load'):
        CheckpointLoader.load_checkpoint(name, map_location='cpu')
    assert not marker.exists()


def test_storage_schemes_load_safely(tmp_path, monkeypatch):
    """``s3://``/``petrel://`` (MMEngine's file backend) and ``pavi://``
    (``pavi.modelcloud``), with fakes of the services."""
    import types

    from mmcolam.engine import checkpoint_loading
    marker = tmp_path / 'code_ran'
    hostile = io.BytesIO()
    torch.save(dict(state_dict={}, meta=RunsCommand(marker)), hostile)

    class Backend:

        def get(self, filename):
            return hostile.getvalue()

    class Model:
        name = 'evil.pth'

        def download(self, path):
            with open(path, 'wb') as f:
                f.write(hostile.getvalue())

    monkeypatch.setattr(checkpoint_loading, 'get_file_backend',
                        lambda *args, **kwargs: Backend())
    pavi = types.ModuleType('pavi')
    pavi.modelcloud = types.SimpleNamespace(get=lambda name: Model())
    monkeypatch.setitem(sys.modules, 'pavi', pavi)
    for name in ['s3://bucket/evil.pth', 'petrel://bucket/evil.pth',
                 'cluster:s3://bucket/evil.pth', 'pavi://model/evil']:
        with pytest.raises(pickle.UnpicklingError, match='refused to load'):
            CheckpointLoader.load_checkpoint(name, map_location='cpu')
    assert not marker.exists()


def test_every_mmengine_scheme_goes_through_the_safe_loader():
    from mmcolam.engine import checkpoint_loading
    assert len(CheckpointLoader._schemes) == 11
    for prefix, loader in CheckpointLoader._schemes.items():
        assert loader.__module__ == checkpoint_loading.__name__, prefix


def test_resume_from_a_forged_checkpoint_is_refused(trained, tmp_path):
    _, cfg = trained
    path = tmp_path / 'epoch_1.pth'
    torch.save(wrapped(FORGED_NUMPY['new_object'], 'message_hub'), path)
    cfg = dict(cfg, work_dir=str(tmp_path / 'resumed'), resume=True,
               load_from=str(path), experiment_name='checkpoint_forged')
    with pytest.raises(pickle.UnpicklingError, match='refused to load'):
        Runner.from_cfg(Config(cfg)).train()
