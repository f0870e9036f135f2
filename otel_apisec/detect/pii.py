"""Placeholder: being written. Exposes DETECTOR (a FieldDetector named "pii")."""
from otel_apisec.detect.fields import Direction

class _Detector:
    name = "pii"
    triggers = ()
    directions = frozenset(Direction)
    def scan(self, field, hits, ctx):
        return ()

DETECTOR = _Detector()
