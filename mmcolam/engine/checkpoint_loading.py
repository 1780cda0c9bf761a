"""Resume under torch >= 2.6.

torch 2.6 made ``torch.load`` default to ``weights_only=True``, which refuses
the message hub, config and numpy objects that MMEngine 0.10 stores in every
checkpoint, so ``--resume`` fails. MMEngine's local-file loader is registered
again here with ``weights_only=False`` — its behaviour before torch 2.6 —
so resume works without any environment variable. As with any pickle, load
only checkpoints you trust.
"""
import os.path as osp

import torch
from mmengine.runner.checkpoint import CheckpointLoader
from mmengine.utils import digit_version


def load_from_local(filename, map_location=None):
    """Load a local checkpoint, allowing the objects MMEngine stores."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return torch.load(filename, map_location=map_location, weights_only=False)


if digit_version(torch.__version__) >= digit_version('2.6.0'):
    CheckpointLoader.register_scheme(prefixes='', force=True)(load_from_local)
