"""Placeholder: being written. Exposes DETECTOR (an ExchangeDetector named "posture")."""

class _Detector:
    name = "posture"
    def __call__(self, exchange, ctx):
        return ()

DETECTOR = _Detector()
