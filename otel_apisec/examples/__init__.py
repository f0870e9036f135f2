"""Examples: a demo HAR and a demo Flask app."""
