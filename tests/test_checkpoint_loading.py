"""Checkpoints that MMEngine 0.10.7 writes load under torch >= 2.6."""
import pickle

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmengine.runner.checkpoint import CheckpointLoader
from mmengine.utils import digit_version
from runner_config import fashion_mnist_config

import mmcolam  # noqa: F401


def test_runner_checkpoint_loads_with_everything_resume_needs(tmp_path):
    cfg = fashion_mnist_config(tmp_path, max_epochs=1)
    cfg['default_hooks']['checkpoint'] = dict(
        type='CheckpointHook', interval=1)
    cfg['experiment_name'] = 'checkpoint_loading'
    runner = Runner.from_cfg(Config(cfg))
    runner.train()
    path = str(tmp_path / 'work_dir' / 'epoch_1.pth')
    if digit_version(torch.__version__) >= digit_version('2.6.0'):
        # What breaks MMEngine's own loader: torch's new default.
        with pytest.raises(pickle.UnpicklingError):
            torch.load(path)
    checkpoint = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    assert checkpoint['meta']['epoch'] == 1
    assert 'message_hub' in checkpoint and 'optimizer' in checkpoint
