"""Placeholder: being written. Exposes DETECTOR (a FieldDetector named "secrets")."""
from otel_apisec.detect.fields import Direction

class _Detector:
    name = "secrets"
    triggers = ()
    directions = frozenset(Direction)
    def scan(self, field, hits, ctx):
        return ()

DETECTOR = _Detector()
