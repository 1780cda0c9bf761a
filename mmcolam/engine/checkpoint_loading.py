"""Every checkpoint scheme MMEngine 0.10.7 registers, registered again
(torch >= 2.6) to load with ``weights_only=True`` and only MMEngine's
checkpoint objects allowed (:mod:`mmcolam.engine.checkpoint_objects`); why:
docs/design.md, "Loading checkpoints safely".

Schemes: local paths; ``http://``, ``https://``; ``torchvision://``,
``modelzoo://``, ``open-mmlab://``, ``openmmlab://``, ``mmcls://`` (names
resolved with MMEngine's own tables); ``s3://``, ``petrel://`` and
``pavi://`` (fetched with MMEngine's backends).
"""
import io
import os
import os.path as osp
import pickle
import tempfile

import torch
from mmengine.dist import barrier, get_dist_info
from mmengine.fileio import get_file_backend
from mmengine.runner import checkpoint as mmengine_checkpoint
from mmengine.runner.checkpoint import CheckpointLoader
from mmengine.utils import digit_version

from .checkpoint_objects import CHECKPOINT_GLOBALS, rebuild_checkpoint_objects


def load_checkpoint_buffer(source, name, map_location=None):
    """``torch.load`` a checkpoint with ``weights_only=True``, MMEngine's
    checkpoint objects allowed (:data:`CHECKPOINT_GLOBALS`) and checked.

    Args:
        source (str | file-like): a local path or a readable binary buffer.
        name (str): what to call the checkpoint in errors.
        map_location: as :func:`torch.load`. Defaults to None.

    Raises:
        pickle.UnpicklingError: the file would run or build anything else.
        RuntimeError: the file is truncated or not a torch file.
    """
    try:
        with torch.serialization.safe_globals(CHECKPOINT_GLOBALS):
            checkpoint = torch.load(
                source, map_location=map_location, weights_only=True)
        return rebuild_checkpoint_objects(checkpoint)
    except pickle.UnpicklingError as error:
        raise pickle.UnpicklingError(
            f'{name}: refused to load, it holds objects a checkpoint '
            'should not (a pickle can run any code). If you trust the '
            'file, see "Loading a trusted older checkpoint" in the '
            f'README. Reason: {error}') from None
    except (RuntimeError, OSError, EOFError) as error:
        raise RuntimeError(
            f'{name}: cannot read this checkpoint, it is truncated or '
            'not a torch file (an interrupted save or copy?): use an '
            f'earlier checkpoint. torch says: {error}') from None


def load_checkpoint_file(filename, map_location=None):
    """Load a local checkpoint with :func:`load_checkpoint_buffer`.

    Raises:
        FileNotFoundError: ``filename`` is not a file.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return load_checkpoint_buffer(filename, filename, map_location)


def download_checkpoint(url, model_dir=None):
    """Download ``url`` into torch's hub cache (``model_dir``, default
    ``<torch hub dir>/checkpoints``) unless it is there; return its path.
    Rank 0 downloads first, the other ranks then find it cached."""
    model_dir = model_dir or osp.join(torch.hub.get_dir(), 'checkpoints')
    os.makedirs(model_dir, exist_ok=True)
    path = osp.join(model_dir, osp.basename(url.split('?')[0]))
    rank, world_size = get_dist_info()
    if rank == 0 and not osp.isfile(path):
        torch.hub.download_url_to_file(url, path, progress=False)
    if world_size > 1:
        barrier()
    if not osp.isfile(path):  # another node: its own cache
        torch.hub.download_url_to_file(url, path, progress=False)
    return path


def load_from_http(filename, map_location=None, model_dir=None):
    """``http://`` and ``https://``: downloaded into torch's hub cache as
    MMEngine does, then loaded safely."""
    path = download_checkpoint(filename, model_dir)
    return load_checkpoint_buffer(path, filename, map_location)


def load_from_name(url_or_path, map_location):
    """A model-zoo name's target: a URL, or a path under MMEngine's home."""
    if url_or_path.startswith(('http://', 'https://')):
        return load_from_http(url_or_path, map_location)
    return load_checkpoint_file(
        osp.join(mmengine_checkpoint._get_mmengine_home(), url_or_path),
        map_location)


def load_from_torchvision(filename, map_location=None):
    """``torchvision://NAME`` (and the deprecated ``modelzoo://NAME``)."""
    name = filename.split('://', 1)[1]
    return load_from_name(
        mmengine_checkpoint.get_torchvision_models()[name], map_location)


def load_from_openmmlab(filename, map_location=None):
    """``open-mmlab://NAME`` and ``openmmlab://NAME``."""
    name = filename.split('://', 1)[1]
    name = mmengine_checkpoint.get_deprecated_model_names().get(name, name)
    return load_from_name(
        mmengine_checkpoint.get_external_models()[name], map_location)


def load_from_mmcls(filename, map_location=None):
    """``mmcls://NAME``: its backbone weights, as MMEngine gives them."""
    name = filename.split('://', 1)[1]
    checkpoint = load_from_name(
        mmengine_checkpoint.get_mmcls_models()[name], map_location)
    return mmengine_checkpoint._process_mmcls_checkpoint(checkpoint)


def load_from_ceph(filename, map_location=None, backend='petrel'):
    """``s3://`` and ``petrel://``, read with MMEngine's file backend."""
    data = get_file_backend(
        filename, backend_args=dict(backend=backend)).get(filename)
    return load_checkpoint_buffer(io.BytesIO(data), filename, map_location)


def load_from_pavi(filename, map_location=None):
    """``pavi://``, downloaded with ``pavi.modelcloud``."""
    from pavi import modelcloud
    model = modelcloud.get(filename[len('pavi://'):])
    with tempfile.TemporaryDirectory() as folder:
        path = osp.join(folder, model.name)
        model.download(path)
        return load_checkpoint_buffer(path, filename, map_location)


#: Each prefix MMEngine 0.10.7 registers, and the loader that replaces it.
SAFE_LOADERS = {
    '': load_checkpoint_file,
    ('http://', 'https://'): load_from_http,
    ('modelzoo://', 'torchvision://'): load_from_torchvision,
    ('open-mmlab://', 'openmmlab://'): load_from_openmmlab,
    'mmcls://': load_from_mmcls,
    (r'(\S+\:)?s3://', r'(\S+\:)?petrel://'): load_from_ceph,
    'pavi://': load_from_pavi,
}

if digit_version(torch.__version__) >= digit_version('2.6.0'):
    for prefixes, loader in SAFE_LOADERS.items():
        CheckpointLoader.register_scheme(prefixes, loader, force=True)
