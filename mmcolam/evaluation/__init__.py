"""Evaluation metrics, registered in ``mmpretrain.registry.METRICS``."""
from .metrics import *  # noqa: F401,F403
