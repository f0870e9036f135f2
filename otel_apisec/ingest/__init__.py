"""Readers that turn recorded traffic (HAR, JSONL of HAR entries) into `HttpExchange` objects."""
