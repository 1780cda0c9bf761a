"""Expected accuracy of soft labels (paper Section 5.1, Fig. 1b): the test
accuracy of a model trained from scratch against one saved soft-label table,
fixed for the whole run."""
import copy
import os.path as osp
from typing import Dict, Optional, Sequence

from mmengine.config import Config

from mmcolam.analysis.figures import new_figure
from mmcolam.analysis.runs import soft_label_hook_positions, type_name


def frozen_soft_label_config(cfg: Config, soft_label_file: str) -> Config:
    """``cfg`` (a COLAM config) turned into a run against the fixed table
    ``soft_label_file``: ``model.head.soft_label_file`` is set and the
    SoftLabelHooks are removed from ``custom_hooks``."""
    head = cfg.model.get('head') or {}
    if type_name(head.get('type')) != 'COLAMHead':
        raise ValueError(
            f"model.head.type={head.get('type')!r}: expected accuracy trains "
            'a COLAMHead against fixed soft labels, so give the COLAM config')
    cfg = copy.deepcopy(cfg)
    cfg.model.head.soft_label_file = osp.abspath(soft_label_file)
    drop = set(soft_label_hook_positions(cfg))
    if 'custom_hooks' in cfg:
        cfg.custom_hooks = [
            h for i, h in enumerate(cfg.custom_hooks) if i not in drop
        ]
    return cfg


def plot_expected_accuracy(rows: Sequence[Dict],
                           path: str,
                           reference: Optional[float] = None,
                           metric: str = 'accuracy/top1') -> None:
    """Test accuracy against the step of the soft labels it trained with
    (step 0: hard labels); ``reference`` (e.g. the COLAM run's own accuracy)
    as a horizontal line."""
    fig = new_figure(figsize=(6, 4))
    ax = fig.subplots()
    ax.plot([r['step'] for r in rows], [r['accuracy'] for r in rows], 'o-',
            label='expected accuracy')
    if reference is not None:
        ax.axhline(reference, color='tab:red', linestyle='--',
                   label='COLAM run')
    ax.set_xlabel(f"{rows[-1]['unit']} of the soft labels (0: hard labels)")
    ax.set_ylabel(f'test {metric} (%)')
    ax.set_title('expected accuracy of the soft labels')
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
