"""Upstream noise of the verified stack, filtered so that a user sees
mmcolam's own lines (never filtered).

- Python warnings, filtered when mmcolam is imported (``import mmcolam`` first
  in a script catches those raised while MMEngine and MMCV are imported):
  mmcv-lite's missing compiled ops, which classification does not use;
  MMEngine 0.10.7's use of ``pkg_resources`` (hence ``setuptools<81``);
  MMPretrain's MNIST reader handing torch a read-only buffer.
- MMEngine's log lines about its own deprecated ``FileClient``, which its
  ``CheckpointHook`` uses: :func:`quiet_upstream_logs` on a runner's logger.
"""
import logging
import warnings

# (message regex, module regex) of each upstream warning.
UPSTREAM_WARNINGS = (
    (r'Fail to import ``MultiScaleDeformableAttention``',
     r'mmcv\.cnn\.bricks\.transformer'),
    (r'pkg_resources is deprecated as an API', r''),
    (r'The given NumPy array is not writable', r'mmpretrain\.datasets\.mnist'),
)
UPSTREAM_LOG_LINES = (
    '"FileClient" will be deprecated in future',
    '"HardDiskBackend" is the alias of "LocalBackend"',
)


def ignore_upstream_warnings() -> None:
    """Ignore the warnings of :data:`UPSTREAM_WARNINGS`, and no other."""
    for message, module in UPSTREAM_WARNINGS:
        warnings.filterwarnings('ignore', message=message,
                                category=UserWarning, module=module)


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
