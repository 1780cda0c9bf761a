"""Upstream noise of the verified stack, filtered so that a user sees
mmcolam's own lines (never filtered).

- Python warnings, filtered when mmcolam is imported (``import mmcolam`` first
  in a script catches those raised while MMEngine and MMCV are imported):
  mmcv-lite's missing compiled ops, which classification does not use;
  MMEngine 0.10.7's use of ``pkg_resources`` (hence ``setuptools<81``);
  MMPretrain's MNIST reader handing torch a read-only buffer; in distributed
  runs, MMEngine setting ``MKL_NUM_THREADS`` (torchrun sets
  ``OMP_NUM_THREADS``, and says so) and torch deprecating the
  ``broadcast_buffers=False`` MMEngine's DDP wrapper passes.
- MMEngine's log lines about its own deprecated ``FileClient``, which its
  ``CheckpointHook`` uses: :func:`quiet_upstream_logs` on a runner's logger.
"""
import logging
import warnings

# (message regex, module regex, category) of each upstream warning.
UPSTREAM_WARNINGS = (
    (r'Fail to import ``MultiScaleDeformableAttention``',
     r'mmcv\.cnn\.bricks\.transformer', UserWarning),
    (r'pkg_resources is deprecated as an API', r'', UserWarning),
    (r'The given NumPy array is not writable', r'mmpretrain\.datasets\.mnist',
     UserWarning),
    (r'Setting MKL_NUM_THREADS environment variable',
     r'mmengine\.utils\.dl_utils\.setup_env', UserWarning),
    (r'`broadcast_buffers` is deprecated',
     r'mmengine\.model\.wrappers\.distributed', FutureWarning),
)
UPSTREAM_LOG_LINES = (
    '"FileClient" will be deprecated in future',
    '"HardDiskBackend" is the alias of "LocalBackend"',
)


def ignore_upstream_warnings() -> None:
    """Ignore the warnings of :data:`UPSTREAM_WARNINGS`, and no other."""
    for message, module, category in UPSTREAM_WARNINGS:
        warnings.filterwarnings('ignore', message=message,
                                category=category, module=module)


class UpstreamLogFilter(logging.Filter):
    """Drops the log records that start with one of
    :data:`UPSTREAM_LOG_LINES`."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(UPSTREAM_LOG_LINES)


def quiet_upstream_logs(logger: logging.Logger) -> None:
    """Filter :data:`UPSTREAM_LOG_LINES` out of ``logger`` (e.g. a
    runner's), once."""
    if not any(isinstance(f, UpstreamLogFilter) for f in logger.filters):
        logger.addFilter(UpstreamLogFilter())
