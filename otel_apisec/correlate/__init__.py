"""Cross-request detection: correlators over a shared state store (issue 5)."""
