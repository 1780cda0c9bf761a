"""Train a classifier with MMPretrain's Runner (mmcolam's components loaded).

Usage: python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]]
       [--amp] [--no-validate] [--auto-scale-lr] [--no-pin-memory]
       [--no-persistent-workers] [--cfg-options K=V ...]
       [--launcher {none,pytorch,slurm,mpi}]

Several processes: tools/dist_train.sh (torchrun) or tools/slurm_train.sh.
On a machine without CUDA, ``--launcher pytorch`` runs on CPU with the gloo
backend (``--cfg-options env_cfg.dist_cfg.backend=gloo``).
"""
import mmcolam  # noqa: F401  (first: filters upstream warnings)

# isort: split
import argparse
import datetime
import os
import os.path as osp

import torch
import torch.distributed as torch_dist
from mmengine.config import Config, ConfigDict, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

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


def parse_with_launcher(parser, argv=None):
    """Add ``--launcher`` and ``--local-rank`` to ``parser`` (as every
    MMPretrain tool has them), parse ``argv``, and export ``LOCAL_RANK`` when
    the launcher did not."""
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


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


def set_launcher_and_work_dir(cfg, args):
    """``cfg.launcher`` from ``--launcher``; ``cfg.work_dir`` from
    ``--work-dir``, else the config's, else ``./work_dirs/<config name>``."""
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])


def setup_cpu_distributed(cfg):
    """Start the process group of a CPU-only distributed run.

    MMEngine's ``init_dist`` pins one CUDA device per process, which fails on
    a machine without CUDA. There, for ``--launcher pytorch`` (torchrun, as
    tools/dist_train.sh runs it), the process group is started here from
    ``env_cfg.dist_cfg`` (the Runner then finds it started), and the model is
    wrapped in ``MMDistributedDataParallel`` without ``device_ids``, as DDP
    needs for a CPU module. Does nothing when CUDA is available or the run is
    not distributed.
    """
    if cfg.launcher == 'none' or torch.cuda.is_available() or \
            torch_dist.is_initialized():
        return
    if cfg.launcher != 'pytorch':
        raise ValueError(
            f'--launcher {cfg.launcher} needs CUDA devices, and this machine '
            'has none: on CPU use --launcher pytorch (tools/dist_train.sh) '
            "with env_cfg.dist_cfg.backend='gloo'")
    dist_cfg = dict(cfg.get('env_cfg', {}).get('dist_cfg', {}))
    backend = dist_cfg.pop('backend', 'nccl')
    if backend != 'gloo':
        raise ValueError(
            f'env_cfg.dist_cfg.backend={backend!r} needs CUDA devices, and '
            "this machine has none: use backend='gloo' (e.g. --cfg-options "
            'env_cfg.dist_cfg.backend=gloo)')
    if dist_cfg.get('timeout') is not None:
        dist_cfg['timeout'] = datetime.timedelta(seconds=dist_cfg['timeout'])
    torch_dist.init_process_group(backend=backend, **dist_cfg)
    wrapper = cfg.get('model_wrapper_cfg')
    if wrapper is None:
        cfg.model_wrapper_cfg = ConfigDict(
            type='MMDistributedDataParallel',
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False),
            device_ids=None)
    elif wrapper.get('type', 'MMDistributedDataParallel') in (
            'MMDistributedDataParallel', 'DistributedDataParallel'):
        wrapper.setdefault('device_ids', None)


def main(argv=None):
    args = parse_args(argv)
    cfg = merge_args(Config.fromfile(args.config), args)
    setup_cpu_distributed(cfg)
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg \
        else RUNNERS.build(cfg)
    quiet_upstream_logs(runner.logger)
    runner.train()
    return runner


if __name__ == '__main__':
    main()
