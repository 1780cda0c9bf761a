"""Figures for the analysis tools, drawn with matplotlib's object API (no
pyplot state), like the soft-label heatmaps that SoftLabelHook draws in a
background thread."""


def new_figure(**kwargs):
    """A ``matplotlib.figure.Figure`` with an Agg canvas attached, so that
    ``fig.savefig`` writes PNGs without any GUI backend or pyplot state.

    Args:
        **kwargs: Arguments of ``Figure`` (``figsize``, ...).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)
    return fig
