"""The old import path of :mod:`mmcolam.soft_labels.history` and
:mod:`mmcolam.soft_labels.heatmap`, kept for the code that still uses it
(mmcolam/analysis/soft_label_evolution.py,
tools/analysis_tools/soft_label_cost.py)."""
from .soft_labels.heatmap import (HeatmapWriter, mass_text, plot_soft_labels,
                                  soft_label_figure)
from .soft_labels.history import (FULL_HISTORY_MAX_CLASSES,
                                  HEATMAP_MAX_CLASSES, HISTORY_TOP_K,
                                  load_table, save_soft_label_history,
                                  top_k_rows)

__all__ = [
    'FULL_HISTORY_MAX_CLASSES', 'HEATMAP_MAX_CLASSES', 'HISTORY_TOP_K',
    'HeatmapWriter', 'load_table', 'mass_text', 'plot_soft_labels',
    'save_soft_label_history', 'soft_label_figure', 'top_k_rows'
]
