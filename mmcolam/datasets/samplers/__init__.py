from .class_pair_sampler import ClassPairSampler

__all__ = ['ClassPairSampler']
