"""Cross-request detection: correlators over a shared state store."""
