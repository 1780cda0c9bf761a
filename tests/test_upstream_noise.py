"""Upstream noise is filtered, mmcolam's own warnings are not."""
import logging
import os
import subprocess
import sys

from mmengine.logging import MMLogger

from mmcolam.upstream_noise import quiet_upstream_logs

IMPORT_NOISE = ('Fail to import ``MultiScaleDeformableAttention``',
                'pkg_resources is deprecated as an API')


def python_stderr(code):
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONWARNINGS'}
    result = subprocess.run([sys.executable, '-c', code], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stderr


def test_import_mmcolam_first_filters_upstream_import_warnings():
    # MMEngine imports pkg_resources when it looks up a package, as a config
    # with an ``mmpretrain::`` base makes it do.
    code = ('import mmengine.runner, mmpretrain.models\n'
            'from mmengine.utils import is_installed\n'
            "is_installed('mmpretrain')")
    # Without mmcolam the stack prints both; with it first, neither.
    plain = python_stderr(code)
    assert all(noise in plain for noise in IMPORT_NOISE), plain
    quiet = python_stderr('import mmcolam\n' + code)
    assert not any(noise in quiet for noise in IMPORT_NOISE), quiet


def test_own_warnings_are_not_filtered():
    stderr = python_stderr(
        'import warnings, mmcolam\n'
        "warnings.warn('SoftLabelHook: pkg_resources is deprecated here')")
    assert 'SoftLabelHook: pkg_resources is deprecated here' in stderr


def test_upstream_log_lines_are_filtered_own_lines_kept():
    logger = MMLogger.get_instance('upstream_noise_test')
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    quiet_upstream_logs(logger)
    quiet_upstream_logs(logger)  # once is enough
    assert len(logger.filters) == 1
    logger.warning('"FileClient" will be deprecated in future. Please use io')
    logger.warning('"HardDiskBackend" is the alias of "LocalBackend" and ...')
    logger.warning('SoftLabelHook: after epoch 1, classes [3] keep ...')
    assert [r.getMessage() for r in records] == [
        'SoftLabelHook: after epoch 1, classes [3] keep ...']
    logger.removeHandler(handler)
