from .colam_head import COLAMHead
from .cskd_head import CSKDHead
from .pskd_head import PSKDHead

__all__ = ['COLAMHead', 'CSKDHead', 'PSKDHead']
