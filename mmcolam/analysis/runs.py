"""Ordinary training runs launched by the analysis tools (expected accuracy,
hyper-parameter grid): each goes through MMEngine's Runner, trains, tests,
and reports the test metrics, with a line of progress per epoch."""
import copy
import inspect
import os.path as osp
import time
from typing import Dict, List

from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from mmcolam.upstream_noise import quiet_upstream_logs

DEFAULT_METRIC = 'accuracy/top1'


def type_name(type_) -> str:
    """The registered name of a config ``type`` (a string, possibly with a
    scope prefix such as ``'mmpretrain.'``, or a class)."""
    if inspect.isclass(type_):
        return type_.__name__
    return str(type_).split('.')[-1]


def soft_label_hook_positions(cfg: Config) -> List[int]:
    """Positions of the SoftLabelHooks in ``cfg.custom_hooks``."""
    return [
        i for i, hook in enumerate(cfg.get('custom_hooks') or [])
        if type_name(hook.get('type')) == 'SoftLabelHook'
    ]


class EpochProgress(Hook):
    """Print one line per training epoch, so long work shows it is alive."""

    def __init__(self, prefix: str):
        self.prefix = prefix

    def after_train_epoch(self, runner) -> None:
        loss = runner.message_hub.get_scalar('train/loss').current()
        print(f'{self.prefix} epoch {runner.epoch + 1}/{runner.max_epochs} '
              f'loss {loss:.4f}', flush=True)


def train_and_test(cfg: Config, work_dir: str, prefix: str,
                   metric: str = DEFAULT_METRIC) -> Dict:
    """Train ``cfg`` from scratch in ``work_dir``, test it, return the
    results.

    The run gets a unique experiment name (MMEngine's loggers and
    visualizers are global instances keyed by it, so two runs of one process
    would otherwise write into the first one's files).

    Returns:
        dict: ``accuracy`` (the test ``metric``), ``metrics`` (every test
        metric), ``work_dir`` and ``log_dir`` (where the run's own logs,
        including the test metrics in ``<timestamp>.json``, are).
    """
    cfg = copy.deepcopy(cfg)
    cfg.work_dir = work_dir
    name = f'{osp.basename(osp.normpath(work_dir))}_{time.time_ns()}'
    cfg.experiment_name = name
    if isinstance(cfg.get('visualizer'), dict):
        cfg.visualizer['name'] = name
    if not cfg.get('test_dataloader'):
        raise ValueError('the config has no test_dataloader: the analysis '
                         'runs report test accuracy')
    runner = Runner.from_cfg(cfg)
    quiet_upstream_logs(runner.logger)
    runner.register_hook(EpochProgress(prefix), priority='VERY_LOW')
    runner.train()
    metrics = runner.test()
    if metric not in metrics:
        raise KeyError(f'the test metrics {sorted(metrics)} have no '
                       f'{metric!r}: choose one of them with --metric')
    return dict(accuracy=float(metrics[metric]),
                metrics={k: float(v) for k, v in metrics.items()
                         if isinstance(v, (int, float))},
                work_dir=work_dir, log_dir=runner.log_dir)
