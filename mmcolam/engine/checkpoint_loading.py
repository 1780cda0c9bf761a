"""Load MMEngine checkpoints under torch >= 2.6, without running their code.

torch 2.6 made ``torch.load`` default to ``weights_only=True``, which refuses
the message hub and numpy objects that MMEngine 0.10 stores in every
checkpoint, so ``--resume`` fails. MMEngine's local-file loader is registered
again here, still with ``weights_only=True`` but with exactly those objects
allowed (:data:`CHECKPOINT_GLOBALS`): resume and ``load_from`` work, and a
file whose pickle would call anything else is refused, as plain MMEngine
refuses it.
"""
import os.path as osp
import pickle

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader
from mmengine.utils import digit_version

#: The statistics of a ``HistoryBuffer`` that MMEngine pickles by reference,
#: as ``getattr(HistoryBuffer, name)``.
HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')


def history_buffer_statistic(owner, name):
    """``builtins.getattr`` as checkpoints may call it: only for the
    statistics of ``HistoryBuffer``."""
    if owner is HistoryBuffer and name in HISTORY_BUFFER_STATISTICS:
        return getattr(owner, name)
    raise pickle.UnpicklingError(
        f'refusing getattr({owner!r}, {name!r}): a checkpoint may only look '
        f'up HistoryBuffer.{"/".join(HISTORY_BUFFER_STATISTICS)}')


def _numpy_globals():
    """numpy's array, dtype and scalar constructors, under the names numpy 2
    (``numpy._core``) and numpy 1 (``numpy.core``) pickle them with."""
    from numpy._core import multiarray
    names = []
    for module in ('numpy._core.multiarray', 'numpy.core.multiarray'):
        names += [(multiarray._reconstruct, f'{module}._reconstruct'),
                  (multiarray.scalar, f'{module}.scalar')]
    dtypes = [
        getattr(np.dtypes, f'{kind}DType')
        for kind in ('Bool', 'Int8', 'Int16', 'Int32', 'Int64', 'UInt8',
                     'UInt16', 'UInt32', 'UInt64', 'Float16', 'Float32',
                     'Float64')
    ]
    return names + [np.ndarray, np.dtype] + dtypes


#: Everything beyond torch's defaults that MMEngine 0.10.7's checkpoints
#: hold (message hub, scheduler, best-checkpoint and AMP state).
CHECKPOINT_GLOBALS = [
    HistoryBuffer, (history_buffer_statistic, 'builtins.getattr')
] + _numpy_globals()


def load_checkpoint_file(filename, map_location=None):
    """``torch.load`` a local checkpoint with ``weights_only=True`` and
    :data:`CHECKPOINT_GLOBALS` allowed.

    Raises:
        FileNotFoundError: ``filename`` is not a file.
        pickle.UnpicklingError: the file would run or build anything else.
        RuntimeError: the file is truncated or not a torch file.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    with torch.serialization.safe_globals(CHECKPOINT_GLOBALS):
        try:
            return torch.load(
                filename, map_location=map_location, weights_only=True)
        except pickle.UnpicklingError as error:
            raise pickle.UnpicklingError(
                f'{filename}: refused to load, it holds objects a checkpoint '
                'should not (a pickle can run any code). If you trust the '
                'file, see "Loading a trusted older checkpoint" in the '
                f'README. torch says: {error}') from None
        except (RuntimeError, OSError, EOFError) as error:
            raise RuntimeError(
                f'{filename}: cannot read this checkpoint, it is truncated or '
                'not a torch file (an interrupted save or copy?): use an '
                f'earlier checkpoint. torch says: {error}') from None


if digit_version(torch.__version__) >= digit_version('2.6.0'):
    CheckpointLoader.register_scheme(
        prefixes='', force=True)(load_checkpoint_file)
