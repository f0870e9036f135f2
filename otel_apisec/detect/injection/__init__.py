"""Placeholder: being written. Exposes DETECTOR (a FieldDetector named "injection")."""
from otel_apisec.detect.fields import Direction

class _Detector:
    name = "injection"
    triggers = ()
    directions = frozenset({Direction.REQUEST})
    def scan(self, field, hits, ctx):
        return ()

DETECTOR = _Detector()
