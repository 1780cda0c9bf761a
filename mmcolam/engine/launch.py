"""What tools/train.py and tools/test.py share: the launcher arguments every
MMPretrain tool has, the work dir, and the process group of a CPU-only
distributed run, and the exit of a gloo run."""
import atexit
import datetime
import os
import os.path as osp
import sys
import threading

import torch
import torch.distributed as torch_dist
from mmengine.config import ConfigDict


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
    parser.add_argument(
        '--check-launch',
        action='store_true',
        help='only check that the run can start on this machine (launcher, '
        'env_cfg.dist_cfg), then exit; the dist_*.sh scripts do, once, '
        'before they start the processes')
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def set_launcher_and_work_dir(cfg, args):
    """``cfg.launcher`` from ``--launcher``; ``cfg.work_dir`` from
    ``--work-dir``, else the config's, else ``./work_dirs/<config name>``."""
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])


#: Where torchrun, Slurm and Open MPI give a process its global rank.
RANK_VARIABLES = ('RANK', 'SLURM_PROCID', 'OMPI_COMM_WORLD_RANK')


class LaunchError(ValueError):
    """A run that cannot start on this machine, e.g. ``nccl`` without CUDA."""


def setup_cpu_distributed(cfg, check_only=False):
    """Start the process group of a CPU-only distributed run.

    MMEngine's ``init_dist`` pins one CUDA device per process, which fails on
    a machine without CUDA. There, for ``--launcher pytorch`` (torchrun, as
    tools/dist_train.sh runs it), the process group is started here from
    ``env_cfg.dist_cfg`` (the Runner then finds it started), and the model is
    wrapped in ``MMDistributedDataParallel`` without ``device_ids``, as DDP
    needs for a CPU module. Does nothing when CUDA is available or the run is
    not distributed. ``check_only``: raise what would stop the start, start
    nothing.
    """
    if cfg.launcher == 'none' or torch.cuda.is_available() or \
            torch_dist.is_initialized():
        return
    if cfg.launcher != 'pytorch':
        raise LaunchError(
            f'--launcher {cfg.launcher} needs CUDA devices, and this machine '
            'has none: on CPU use --launcher pytorch (tools/dist_train.sh) '
            "with env_cfg.dist_cfg.backend='gloo'")
    dist_cfg = dict(cfg.get('env_cfg', {}).get('dist_cfg', {}))
    backend = dist_cfg.pop('backend', 'nccl')
    if backend != 'gloo':
        raise LaunchError(
            f'env_cfg.dist_cfg.backend={backend!r} needs CUDA devices, and '
            "this machine has none: use backend='gloo' (e.g. --cfg-options "
            'env_cfg.dist_cfg.backend=gloo)')
    if check_only:
        return
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


def launch_or_exit(cfg, args):
    """:func:`setup_cpu_distributed` (``args.check_launch``: the check alone).

    A run that cannot start exits with status 2, its reason printed in one
    line by global rank 0 alone, rather than a traceback from every process.
    """
    try:
        setup_cpu_distributed(cfg, check_only=args.check_launch)
    except LaunchError as error:
        ranks = [os.environ.get(name) for name in RANK_VARIABLES]
        if next((r for r in ranks if r is not None), '0') == '0':
            print(f'{osp.basename(sys.argv[0])}: error: {error}',
                  file=sys.stderr)
        sys.exit(2)


def exit_gloo_run() -> None:
    """End this process of a gloo run that finished (nothing to do in other
    runs): wait for every rank, then exit as Python would (its threads
    joined, its exit handlers run, its streams flushed) but without
    finalizing the interpreter.

    torch 2.14's gloo worker threads free the collectives they ran, and a
    barrier holds the collectives still running when it starts until it is
    freed itself, by its thread, maybe after the main thread returned. Freeing
    a tensor that Python knows takes the GIL, and a thread that asks for it
    once the interpreter finalizes is ended with ``pthread_exit``, which
    aborts the process: ``terminate called without an active exception``
    (about 1 exit in 10 of a two-process job). Without finalization no such
    window is left.
    """
    if not torch_dist.is_initialized() or \
            torch_dist.get_backend() != 'gloo':
        return
    torch_dist.barrier()
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()  # what Python runs before it finalizes
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
