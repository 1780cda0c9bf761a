from .calibration import ExpectedCalibrationError, NegativeLogLikelihood

__all__ = ['ExpectedCalibrationError', 'NegativeLogLikelihood']
