"""Turn a training checkpoint into a published, plain MMPretrain one.

Usage:
    python tools/model_converters/publish_model.py CONFIG CHECKPOINT OUT_DIR
        [--name NAME]

Writes to OUT_DIR, as MMPretrain's ``publish_model.py`` names its output
(``<NAME>_<date>-<first 8 hex digits of the file's sha256>.pth``, NAME
defaulting to the config's name):

- ``<stem>.pth``: the weights only. ``state_dict`` without
  ``head.soft_labels`` and a ``meta`` of plain values (the data set's
  classes, versions, epoch/iter, and the rewritten config as ``cfg``);
  optimizer, schedulers, message hub and hook state are dropped. It loads
  with ``torch.load(weights_only=True)``, so under torch >= 2.6 MMPretrain
  reads it without mmcolam.
- ``<stem>_soft_labels.npy`` (COLAM only): the ``(C, C)`` soft-label table
  it was trained against (a ``COLAMHead(soft_label_file=...)`` trains
  against it again).
- ``<stem>.py``: the config; for COLAM, with ``COLAMHead`` replaced by
  ``LinearClsHead`` (its COLAM-only arguments dropped, and a soft
  ``CrossEntropyLoss`` made an ordinary one unless the model mixes labels
  with batch augments), the SoftLabelHook removed from ``custom_hooks`` and
  ``mmcolam`` removed from ``custom_imports`` when no other component of the
  config is one of mmcolam's (e.g. a SmallConvNet backbone keeps it).

Prediction is unchanged: a COLAMHead predicts with the plain logits.
"""
import mmcolam  # noqa: F401  (first: filters upstream warnings)

# isort: split
import argparse
import copy
import datetime
import hashlib
import inspect
import os
import os.path as osp

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import Registry

from mmcolam.engine.checkpoint_loading import load_checkpoint_file

SOFT_LABEL_KEY = 'head.soft_labels'
PLAIN_META_KEYS = ('dataset_meta', 'epoch', 'iter', 'seed', 'experiment_name',
                   'time', 'mmengine_version', 'mmpretrain_version')


def _type_name(type_):
    if inspect.isclass(type_):
        return type_.__name__
    return str(type_).split('.')[-1]


def mmcolam_type_names():
    """Names of the components mmcolam registers in MMPretrain's
    registries."""
    from mmpretrain import registry
    names = set()
    for value in vars(registry).values():
        if isinstance(value, Registry):
            for name, obj in value.module_dict.items():
                if getattr(obj, '__module__', '').split('.')[0] == 'mmcolam':
                    names.add(name)
    return names


def colam_head_args():
    """COLAMHead's own arguments, which LinearClsHead does not take."""
    from mmpretrain.models.heads import LinearClsHead

    from mmcolam.models.heads import COLAMHead
    plain_args = set()
    for cls in LinearClsHead.__mro__:
        if '__init__' in vars(cls):
            plain_args |= set(inspect.signature(cls.__init__).parameters)
    return set(inspect.signature(COLAMHead.__init__).parameters) - plain_args


def config_types(node):
    """Every ``type`` value anywhere in a config (dicts and lists)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == 'type':
                yield value
            yield from config_types(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from config_types(value)


def needs_mmcolam(cfg_dict) -> bool:
    own = mmcolam_type_names()
    for type_ in config_types(cfg_dict):
        if inspect.isclass(type_):
            if type_.__module__.split('.')[0] == 'mmcolam':
                return True
        elif isinstance(type_, str) and _type_name(type_) in own:
            return True
    return False


def rewrite_config(cfg: Config) -> Config:
    """The plain MMPretrain config of a COLAM config (see the module doc)."""
    cfg = copy.deepcopy(cfg)
    head = cfg.model.get('head') or {}
    if _type_name(head.get('type')) != 'COLAMHead':
        raise ValueError(
            f"model.head.type={head.get('type')!r}: publish_model.py "
            'converts models with a COLAMHead')
    colam_args = colam_head_args()
    new_head = {k: v for k, v in head.items() if k not in colam_args}
    new_head['type'] = 'LinearClsHead'
    loss = copy.deepcopy(
        new_head.get('loss',
                      dict(type='CrossEntropyLoss', use_soft=True,
                           loss_weight=1.0)))
    mixes_labels = bool((cfg.model.get('train_cfg') or {}).get('augments'))
    if _type_name(loss.get('type')) == 'CrossEntropyLoss' and \
            loss.get('use_soft') and not mixes_labels:
        # Soft targets came from COLAM's table; plain fine-tuning of the
        # published model gets class indices.
        loss.pop('use_soft')
    new_head['loss'] = loss
    cfg.model.head = new_head
    if cfg.get('custom_hooks'):
        cfg.custom_hooks = [
            h for h in cfg.custom_hooks
            if _type_name(h.get('type')) != 'SoftLabelHook'
        ]
    imports_cfg = cfg.get('custom_imports')
    if imports_cfg:
        imports = imports_cfg.get('imports', [])
        imports = [imports] if isinstance(imports, str) else list(imports)
        if 'mmcolam' in imports and not needs_mmcolam(
                {k: v for k, v in cfg.to_dict().items()
                 if k != 'custom_imports'}):
            imports.remove('mmcolam')
        if imports:
            cfg.custom_imports.imports = imports
        else:
            cfg.pop('custom_imports')
    return cfg


def plain(value):
    """``value`` with numpy scalars/arrays as Python values; None for what
    ``torch.load(weights_only=True)`` would refuse."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v) for v in value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return None


def publish(config: str, checkpoint: str, out_dir: str, name: str = None):
    """Write the published checkpoint, soft labels and config; return their
    paths as a dict."""
    cfg = Config.fromfile(config)
    colam = _type_name((cfg.model.get('head') or {}).get('type')) == \
        'COLAMHead'
    new_cfg = rewrite_config(cfg) if colam else cfg
    # Training checkpoints hold the message hub and numpy objects: load them
    # with exactly those allowed, never with weights_only=False.
    ckpt = load_checkpoint_file(checkpoint, map_location='cpu')
    state_dict = dict(ckpt.get('state_dict', ckpt))
    if colam and SOFT_LABEL_KEY not in state_dict:
        raise KeyError(f'{checkpoint!r} has no {SOFT_LABEL_KEY!r} in its '
                       'state dict: it is not a COLAM checkpoint')
    soft_labels = state_dict.pop(SOFT_LABEL_KEY).float().numpy() \
        if colam else None
    meta = ckpt.get('meta', {}) if isinstance(ckpt.get('meta'), dict) else {}
    new_meta = {k: plain(meta[k]) for k in PLAIN_META_KEYS if k in meta}
    import mmpretrain
    new_meta.setdefault('mmpretrain_version', mmpretrain.__version__)
    new_meta['cfg'] = new_cfg.pretty_text
    os.makedirs(out_dir, exist_ok=True)
    name = name or osp.splitext(osp.basename(config))[0]
    temp = osp.join(out_dir, f'temp_{name}.pth')
    torch.save(dict(state_dict=state_dict, meta=new_meta), temp)
    torch.load(temp, map_location='cpu', weights_only=True)  # must be plain
    with open(temp, 'rb') as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    date = datetime.datetime.now().strftime('%Y%m%d')
    stem = osp.join(out_dir, f'{name}_{date}-{sha[:8]}')
    os.replace(temp, stem + '.pth')
    if colam:
        np.save(stem + '_soft_labels.npy', soft_labels)
    new_cfg.dump(stem + '.py')
    return dict(checkpoint=stem + '.pth', config=stem + '.py',
                soft_labels=stem + '_soft_labels.npy' if colam else None,
                sha256=sha)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Turn a training checkpoint into a published, plain '
        'MMPretrain one')
    parser.add_argument('config', help='the config of the checkpoint')
    parser.add_argument('checkpoint', help='the training checkpoint')
    parser.add_argument('out_dir', help='folder of the published files')
    parser.add_argument('--name', help='file name before the date and hash '
                        '(default: the config file name)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    paths = publish(args.config, args.checkpoint, args.out_dir, args.name)
    for kind in ('checkpoint', 'soft_labels', 'config'):
        if paths[kind] is not None:
            print(f'{kind}: {paths[kind]}')
    return paths


if __name__ == '__main__':
    main()
