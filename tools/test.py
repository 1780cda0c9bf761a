"""Test (evaluate) a checkpoint with MMPretrain's Runner (mmcolam's
components loaded).

Usage: python tools/test.py CONFIG CHECKPOINT [--work-dir DIR]
       [--out FILE [--out-item {metrics,pred}]] [--amp] [--tta]
       [--show] [--show-dir DIR] [--interval N] [--wait-time S]
       [--no-pin-memory] [--cfg-options K=V ...]
       [--launcher {none,pytorch,slurm,mpi}] [--check-launch]

Several processes: tools/dist_test.sh (torchrun) or tools/slurm_test.sh.
"""
import mmcolam  # noqa: F401  (first: filters upstream warnings)

# isort: split
import argparse
import copy

import mmengine
from mmengine.config import Config, ConfigDict, DictAction
from mmengine.dist import is_main_process
from mmengine.evaluator import DumpResults
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from mmcolam.engine.launch import (exit_gloo_run, launch_or_exit,
                                   parse_with_launcher,
                                   set_launcher_and_work_dir)
from mmcolam.upstream_noise import quiet_upstream_logs


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test a classifier')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file to test')
    parser.add_argument(
        '--work-dir', help='the dir to save logs and the metrics file')
    parser.add_argument(
        '--out', help='dump the predictions (or metrics) to this file')
    parser.add_argument(
        '--out-item',
        choices=['metrics', 'pred'],
        help="what --out holds: 'pred' (the default) or 'metrics'")
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value pairs')
    parser.add_argument(
        '--amp', action='store_true', help='automatic mixed precision test')
    parser.add_argument(
        '--show-dir', help='save images with their predictions to this dir')
    parser.add_argument(
        '--show', action='store_true', help='show the predictions in a window')
    parser.add_argument(
        '--interval', type=int, default=1, help='visualise every N samples')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='seconds per shown image')
    parser.add_argument(
        '--no-pin-memory',
        action='store_true',
        help='do not pin memory in the test dataloader')
    parser.add_argument(
        '--tta',
        action='store_true',
        help="test-time augmentation: the config's tta_model and "
        'tta_pipeline, else the mean class score of the image and its '
        'horizontal flip')
    args = parse_with_launcher(parser, argv)
    if args.out_item is not None and args.out is None:
        parser.error('--out-item needs --out FILE')
    return args


def merge_args(cfg, args):
    """Apply the command-line flags to the config."""
    set_launcher_and_work_dir(cfg, args)
    cfg.load_from = args.checkpoint
    cfg.resume = False
    if args.amp:
        cfg.test_cfg = cfg.get('test_cfg') or ConfigDict()
        cfg.test_cfg.fp16 = True
    if args.show or args.show_dir is not None:
        visualization = cfg.default_hooks.get('visualization')
        if visualization is None:
            raise ValueError(
                '--show/--show-dir need a VisualizationHook: add default_hooks'
                "=dict(visualization=dict(type='VisualizationHook')) to the "
                'config')
        visualization.update(
            enable=True,
            show=args.show,
            out_dir=args.show_dir,
            interval=args.interval,
            wait_time=args.wait_time)
    if args.tta:
        test_pipeline = cfg.test_dataloader.dataset.pipeline
        if 'tta_pipeline' not in cfg:
            # The last transform packs the inputs; before it, each image
            # goes through once flipped and once as it is.
            flips = [
                dict(type='RandomFlip', prob=1.),
                dict(type='RandomFlip', prob=0.)
            ]
            cfg.tta_pipeline = copy.deepcopy(test_pipeline)
            cfg.tta_pipeline[-1] = dict(
                type='TestTimeAug',
                transforms=[flips, [copy.deepcopy(test_pipeline[-1])]])
        tta_model = cfg.get('tta_model') or dict(
            type='mmpretrain.AverageClsScoreTTA')
        cfg.model = ConfigDict(**tta_model, module=cfg.model)
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    if cfg.get('test_dataloader') is not None and args.no_pin_memory:
        cfg.test_dataloader.pin_memory = False
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def main(argv=None):
    args = parse_args(argv)
    cfg = merge_args(Config.fromfile(args.config), args)
    launch_or_exit(cfg, args)
    if args.check_launch:
        return None
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg \
        else RUNNERS.build(cfg)
    quiet_upstream_logs(runner.logger)
    if args.out is not None and args.out_item in (None, 'pred'):
        runner.test_evaluator.metrics.append(
            DumpResults(out_file_path=args.out))
    metrics = runner.test()
    if args.out is not None and args.out_item == 'metrics' and \
            is_main_process():
        mmengine.dump(metrics, args.out)
    return metrics


if __name__ == '__main__':
    main()
    exit_gloo_run()  # otherwise a gloo run can abort as it exits
