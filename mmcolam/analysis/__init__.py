"""Computations behind the analysis tools of ``tools/analysis_tools/`` (paper
Sections 5.1-5.3), one module per idea, testable without a runner.

Nothing here is imported by ``import mmcolam``: the tools import the modules
they need directly, e.g. ``from mmcolam.analysis import representations``.
"""
