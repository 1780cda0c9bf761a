from .colam_head import COLAMHead
from .cskd_head import CSKDHead

__all__ = ['COLAMHead', 'CSKDHead']
