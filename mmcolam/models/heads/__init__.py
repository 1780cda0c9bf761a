from .colam_head import COLAMHead

__all__ = ['COLAMHead']
