"""Bad configurations of COLAM fail early with a message that names the
option, the value and what is allowed."""
import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from mmcolam.engine.hooks import SoftLabelHook
from tests.helpers.runner_config import colam_config


@pytest.mark.parametrize('kwargs, pattern', [
    (dict(interval=0), r'interval=0 must be an integer >= 1'),
    (dict(interval=2.5), r'interval=2.5 must be an integer >= 1'),
    (dict(interval=1, peer_mode='offline'),
     r"peer_mode='offline'.*'resample', 'online'"),
    (dict(interval=1, num_peers=0),
     r'num_peers=0 must be an integer >= 1 or None'),
    (dict(interval=1, statistic='mean'), r"statistic='mean'.*'logits'"),
    (dict(interval=1, momentum=1.0), r'momentum=1.0 .*\[0, 1\)'),
    (dict(interval=2, online_window=3), r'online_window=3 .*interval=2'),
])
def test_bad_hook_options(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        SoftLabelHook(**kwargs)


def run(cfg):
    Runner.from_cfg(Config(cfg)).train()


def test_interval_not_shorter_than_run(tmp_path):
    cfg = colam_config(tmp_path, max_epochs=3, hook=dict(interval=3))
    with pytest.raises(ValueError, match=r'interval=3 .*3 epochs.*< 3'):
        run(cfg)


def test_hook_without_colam_head(tmp_path):
    cfg = colam_config(tmp_path)
    cfg['model']['head'] = dict(type='LinearClsHead', num_classes=10,
                                in_channels=64)
    with pytest.raises(TypeError, match="LinearClsHead.*type='COLAMHead'"):
        run(cfg)


def test_colam_head_without_hook(tmp_path):
    cfg = colam_config(tmp_path)
    cfg['custom_hooks'] = []
    with pytest.raises(RuntimeError, match='without a SoftLabelHook'):
        run(cfg)


def test_head_classes_disagree_with_dataset(tmp_path):
    cfg = colam_config(tmp_path)
    cfg['model']['head']['num_classes'] = 12
    cfg['model']['data_preprocessor']['num_classes'] = 12
    with pytest.raises(ValueError,
                       match=r'num_classes=12 disagrees.*10 classes'):
        run(cfg)


def test_head_classes_disagree_with_preprocessor(tmp_path):
    cfg = colam_config(tmp_path)
    cfg['model']['data_preprocessor']['num_classes'] = 9
    with pytest.raises(
            ValueError,
            match=r'data_preprocessor.num_classes=9 disagrees.*=10'):
        run(cfg)


def test_label_outside_classes(tmp_path):
    cfg = colam_config(tmp_path)
    # The data set keeps its 10 class names but the head only knows 9.
    cfg['model']['head']['num_classes'] = 9
    cfg['model']['data_preprocessor']['num_classes'] = 9
    cfg['train_dataloader']['dataset']['metainfo'] = dict(
        classes=[str(i) for i in range(9)])
    with pytest.raises(ValueError, match=r'label 9 .*outside \[0, 9\)'):
        run(cfg)


def test_no_test_pipeline_for_resample_peers(tmp_path):
    cfg = colam_config(tmp_path)
    cfg['test_dataloader'] = cfg['test_cfg'] = cfg['test_evaluator'] = None
    with pytest.raises(ValueError, match='set peer_pipeline'):
        run(cfg)
