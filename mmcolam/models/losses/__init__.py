from .confidence_penalty_loss import ConfidencePenaltyLoss
from .disturb_label_loss import DisturbLabelLoss

__all__ = ['ConfidencePenaltyLoss', 'DisturbLabelLoss']
