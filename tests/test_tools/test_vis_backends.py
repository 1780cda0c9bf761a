"""The README's ways to get the soft-label scalars and heatmaps into
TensorBoard and W&B: the ``--cfg-options`` one-liner of tools/train.py and
the config lines that keep the local backend too."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from tensorboard.backend.event_processing.event_accumulator import \
    EventAccumulator

from tests.helpers.runner_config import colam_config
from tests.helpers.tool_runs import load_tool, write_config

#: The README's one-liner and config lines.
TENSORBOARD_OPTION = 'visualizer.vis_backends.0.type=TensorboardVisBackend'
BOTH_BACKENDS = ("visualizer = dict(vis_backends=[\n"
                 "    dict(type='LocalVisBackend'),\n"
                 "    dict(type='TensorboardVisBackend')])\n")
SCALARS = ('soft_labels/mean_entropy', 'soft_labels/true_class_mass')


def train(tmp_path, *args):
    config = write_config(colam_config(tmp_path, max_epochs=3),
                          tmp_path / 'config.py')
    return load_tool('train').main([config, *args])


def tensorboard_events(runner):
    (events, ) = glob.glob(
        osp.join(runner.log_dir, 'vis_data', 'events.out.tfevents.*'))
    return EventAccumulator(events, size_guidance={'images': 0}).Reload()


def assert_updates_in_tensorboard(runner):
    """Both updates (after epochs 1 and 2) as scalars and heatmaps."""
    events = tensorboard_events(runner)
    steps = [len(runner.train_dataloader) * e for e in (1, 2)]
    for tag in SCALARS:
        assert [s.step for s in events.Scalars(tag)] == steps, tag
    assert [i.step for i in events.Images('soft_labels')] == steps


def test_tensorboard_one_liner(tmp_path):
    runner = train(tmp_path, '--cfg-options', TENSORBOARD_OPTION)
    assert_updates_in_tensorboard(runner)


def test_tensorboard_beside_the_local_backend(tmp_path):
    config = tmp_path / 'tensorboard.py'
    config.write_text(f"_base_ = ['./config.py']\n{BOTH_BACKENDS}")
    write_config(colam_config(tmp_path, max_epochs=3),
                 tmp_path / 'config.py')
    runner = load_tool('train').main([str(config)])
    assert_updates_in_tensorboard(runner)
    assert osp.isfile(osp.join(runner.log_dir, 'vis_data', 'scalars.json'))


def test_the_obvious_list_option_is_not_mmengine_syntax(tmp_path):
    # DictAction leaves dict(...) as strings: MMEngine refuses them.
    with pytest.raises(TypeError, match='vis_backends must be a list of'):
        train(tmp_path, '--cfg-options',
              "visualizer.vis_backends=[dict(type='LocalVisBackend'),"
              "dict(type='TensorboardVisBackend')]")


def test_wandb_one_liner_sets_the_backend_and_project(tmp_path):
    # wandb itself is not installed here: the config the option gives.
    config = write_config(colam_config(tmp_path), tmp_path / 'config.py')
    train_tool = load_tool('train')
    args = train_tool.parse_args([
        config, '--cfg-options', 'visualizer.vis_backends.0.type='
        'WandbVisBackend', 'visualizer.vis_backends.0.init_kwargs.project='
        'colam'
    ])
    cfg = train_tool.merge_args(Config.fromfile(config), args)
    assert cfg.visualizer.vis_backends == [
        dict(type='WandbVisBackend', init_kwargs=dict(project='colam'))
    ]
