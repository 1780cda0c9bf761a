from .confidence_penalty_loss import ConfidencePenaltyLoss
from .disturb_label_loss import DisturbLabelLoss
from .tfkd_reg_loss import TfKDRegLoss

__all__ = ['ConfidencePenaltyLoss', 'DisturbLabelLoss', 'TfKDRegLoss']
