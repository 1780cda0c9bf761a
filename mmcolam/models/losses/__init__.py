from .confidence_penalty_loss import ConfidencePenaltyLoss

__all__ = ['ConfidencePenaltyLoss']
