"""Penultimate representations and class templates of an MMPretrain
classifier, on chosen samples of a data set split (paper Section 5.2)."""
import copy
from typing import List, Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope
from mmengine.utils import ProgressBar

from mmcolam.argument_checks import check_choice, check_int

SPLITS = ('train', 'test')


def load_classifier(cfg: Config, checkpoint: str, device: str = 'cpu'):
    """Build the config's model and load ``checkpoint`` into it (eval mode).

    Loading a full training checkpoint under torch >= 2.6 needs ``mmcolam``
    imported (see :mod:`mmcolam.engine.checkpoint_loading`)."""
    from mmpretrain.apis import get_model
    return get_model(cfg, pretrained=checkpoint, device=device)


def class_templates(model) -> np.ndarray:
    """``(C, D)``: the weight of the head's last linear layer ``fc``; row k
    is the template ``w_k`` of class k."""
    head = getattr(model, 'head', None)
    fc = getattr(head, 'fc', None)
    if not isinstance(fc, torch.nn.Linear):
        raise TypeError(
            f'{type(head).__name__} has no linear layer `fc` whose rows are '
            'class templates: use a model whose head is a LinearClsHead, '
            'COLAMHead or another head with an `fc` nn.Linear')
    return fc.weight.detach().cpu().double().numpy()


def build_split_dataset(cfg: Config, split: str):
    """The ``train`` or ``test`` data set of ``cfg``, both read through the
    test pipeline (no augmentation)."""
    check_choice('split', split, SPLITS)
    test_loader = cfg.get('test_dataloader') or cfg.get('val_dataloader')
    if not test_loader:
        raise ValueError('the config has no test_dataloader (nor '
                         'val_dataloader), whose pipeline is needed')
    loader = cfg.get(f'{split}_dataloader') if split == 'train' \
        else test_loader
    if not loader:
        raise ValueError(f'the config has no {split}_dataloader')
    dataset_cfg = copy.deepcopy(loader['dataset'])
    if 'pipeline' not in dataset_cfg:
        raise ValueError(
            f'{split}_dataloader.dataset ({dataset_cfg.get("type")}) has no '
            'pipeline to replace by the test pipeline; wrapped data sets are '
            'not supported')
    dataset_cfg['pipeline'] = copy.deepcopy(test_loader['dataset']['pipeline'])
    from mmpretrain.registry import DATASETS
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return DATASETS.build(dataset_cfg)


def resolve_classes(specs: Sequence, class_names: Optional[Sequence[str]],
                    num_classes: int) -> List[int]:
    """Class indices of ``specs``, each a class name or an index.

    A spec that is exactly a class name means that class; otherwise it must
    be an integer in ``[0, num_classes)``."""
    names = list(class_names) if class_names is not None else []
    indices = []
    for spec in specs:
        spec = str(spec)
        if spec in names:
            index = names.index(spec)
        elif spec.lstrip('-').isdigit() and 0 <= int(spec) < num_classes:
            index = int(spec)
        else:
            shown = ', '.join(repr(n) for n in names[:20]) + \
                (', ...' if len(names) > 20 else '')
            raise ValueError(
                f'class {spec!r} is neither a class name nor an index in '
                f'[0, {num_classes}); the classes are: {shown or "unnamed"}')
        if index in indices:
            raise ValueError(f'class {spec!r} is given twice')
        indices.append(index)
    return indices


def select_samples(labels, classes: Sequence[int], num_samples: int,
                   seed: int = 0) -> np.ndarray:
    """``num_samples`` random sample indices of each class (no repeats),
    grouped by class in the order of ``classes``, each group sorted."""
    labels = np.asarray(labels).reshape(-1)
    check_int('num_samples', num_samples)
    rng = np.random.default_rng(seed)
    chosen = []
    for c in classes:
        members = np.flatnonzero(labels == c)
        if len(members) < num_samples:
            raise ValueError(
                f'class {c} has {len(members)} samples in this split, fewer '
                f'than num_samples={num_samples}: ask for at most '
                f'{len(members)}')
        chosen.append(np.sort(rng.choice(members, num_samples,
                                         replace=False)))
    return np.concatenate(chosen)


@torch.no_grad()
def penultimate_features(model,
                         dataset,
                         indices: Sequence[int],
                         batch_size: int = 64,
                         progress: bool = True) -> np.ndarray:
    """``(N, D)`` input of the head's last linear layer for the samples
    ``indices`` of ``dataset``: ``model.extract_feat(.., 'pre_logits')``,
    i.e. the head's ``pre_logits`` of the neck (else backbone) output."""
    model.eval()
    indices = [int(i) for i in indices]
    bar = ProgressBar(len(indices)) if progress else None
    features = []
    for start in range(0, len(indices), batch_size):
        chunk = indices[start:start + batch_size]
        data = model.data_preprocessor(
            pseudo_collate([dataset[i] for i in chunk]), False)
        feats = model.extract_feat(data['inputs'], stage='pre_logits')
        if isinstance(feats, (tuple, list)):
            feats = feats[-1]
        if feats.ndim != 2:
            raise ValueError(
                f'the penultimate representation has shape '
                f'{tuple(feats.shape)}, not (N, D): the head does not pool '
                'its input into vectors')
        features.append(feats.detach().cpu().double().numpy())
        if bar is not None:
            for _ in chunk:
                bar.update()
    if bar is not None:
        print(flush=True)
    return np.concatenate(features)
