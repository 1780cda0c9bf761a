"""Train a classifier with MMPretrain's Runner (mmcolam's components loaded).

Usage: python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]]
       [--amp] [--no-validate] [--auto-scale-lr] [--no-pin-memory]
       [--no-persistent-workers] [--cfg-options K=V ...]
       [--launcher {none,pytorch,slurm,mpi}] [--check-launch]

Several processes: tools/dist_train.sh (torchrun) or tools/slurm_train.sh.
On a machine without CUDA, ``--launcher pytorch`` runs on CPU with the gloo
backend (``--cfg-options env_cfg.dist_cfg.backend=gloo``).
"""
import mmcolam  # noqa: F401  (first: filters upstream warnings)

# isort: split
import argparse

from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from mmcolam.engine.launch import (exit_gloo_run, launch_or_exit,
                                   parse_with_launcher,
                                   set_launcher_and_work_dir)
from mmcolam.upstream_noise import quiet_upstream_logs


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a classifier')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or from the latest '
        'checkpoint in the work dir when no path is given')
    parser.add_argument(
        '--amp', action='store_true', help='automatic mixed precision')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='do not evaluate checkpoints during training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the total batch size')
    parser.add_argument(
        '--no-pin-memory',
        action='store_true',
        help='do not pin memory in the dataloaders')
    parser.add_argument(
        '--no-persistent-workers',
        action='store_true',
        help='do not keep dataloader workers alive between epochs')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value pairs')
    return parse_with_launcher(parser, argv)


def merge_args(cfg, args):
    """Apply the command-line flags to the config."""
    set_launcher_and_work_dir(cfg, args)
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(name)
        if loader is None:
            continue
        if args.no_pin_memory:
            loader.pin_memory = False
        if args.no_persistent_workers:
            loader.persistent_workers = False
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
    runner.train()
    return runner


if __name__ == '__main__':
    main()
    exit_gloo_run()  # otherwise a gloo run can abort as it exits
