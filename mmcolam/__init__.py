"""mmcolam: COLAM and its label-regularisation baselines for MMPretrain.

Importing the package registers every component in MMPretrain's registries,
so a config only needs ``custom_imports = dict(imports=['mmcolam'])``.
"""
from .upstream_noise import ignore_upstream_warnings
from .version import __version__

ignore_upstream_warnings()  # before MMEngine and MMCV load, if not yet loaded
# Registers the components (after the filters: it loads MMPretrain).
from . import datasets, engine, models  # noqa: E402,F401

__all__ = ['__version__']
