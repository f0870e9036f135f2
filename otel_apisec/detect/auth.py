"""Placeholder: being written. Exposes DETECTOR (an ExchangeDetector named "auth")."""

class _Detector:
    name = "auth"
    def __call__(self, exchange, ctx):
        return ()

DETECTOR = _Detector()
