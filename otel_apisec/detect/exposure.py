"""Placeholder: being written. Exposes DETECTOR (an ExchangeDetector named "exposure")."""

class _Detector:
    name = "exposure"
    def __call__(self, exchange, ctx):
        return ()

DETECTOR = _Detector()
