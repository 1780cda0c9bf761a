"""mmcolam: COLAM and its label-regularisation baselines for MMPretrain.

Importing the package registers every component in MMPretrain's registries,
so a config only needs ``custom_imports = dict(imports=['mmcolam'])``.
"""
from . import datasets, engine, models  # noqa: F401  (registers components)
from .version import __version__

__all__ = ['__version__']
