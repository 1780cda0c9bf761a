"""The soft-label math of COLAM (Li et al., Neural Processing Letters 2022),
with no runner in it: the peers and their statistics, the update of ``S``,
the training targets, and ``S`` on disk."""
from .heatmap import HeatmapWriter, plot_soft_labels, soft_label_figure
from .history import (FULL_HISTORY_MAX_CLASSES, HEATMAP_MAX_CLASSES,
                      HISTORY_TOP_K, load_table, save_soft_label_history,
                      top_k_rows)
from .peers import STATISTICS, PeerStatistics, draw_peers
from .table import (check_soft_label_table, listed, row_blocks,
                    soft_label_summary)
from .targets import MAX_GATHERED_CLASSES, colam_targets, off_diagonal_rows
from .update import EMPTY_ROWS, soft_labels_from_statistics

__all__ = [
    'EMPTY_ROWS', 'FULL_HISTORY_MAX_CLASSES', 'HEATMAP_MAX_CLASSES',
    'HISTORY_TOP_K', 'MAX_GATHERED_CLASSES', 'STATISTICS', 'HeatmapWriter',
    'PeerStatistics', 'check_soft_label_table', 'colam_targets', 'draw_peers',
    'listed', 'load_table', 'off_diagonal_rows', 'plot_soft_labels',
    'row_blocks', 'save_soft_label_history', 'soft_label_figure',
    'soft_label_summary', 'soft_labels_from_statistics', 'top_k_rows'
]
