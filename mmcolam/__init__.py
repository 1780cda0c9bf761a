"""mmcolam: COLAM and its label-regularisation baselines for MMPretrain.

Importing the package registers every component in MMPretrain's registries,
so a config only needs ``custom_imports = dict(imports=['mmcolam'])``, and
its model zoo in MMPretrain's model hub (``mmpretrain.get_model(NAME,
pretrained=True)``).
"""
from .upstream_noise import ignore_upstream_warnings
from .version import __version__

ignore_upstream_warnings()  # before MMEngine and MMCV load, if not yet loaded
# Registers the components (after the filters: it loads MMPretrain).
from . import datasets, engine, evaluation, models  # noqa: E402,F401
from .model_zoo import register_model_zoo  # noqa: E402

register_model_zoo()

__all__ = ['__version__']
