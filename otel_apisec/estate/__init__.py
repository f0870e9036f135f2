"""The API estate (layer 4): the inventory of every service and endpoint seen, spec drift, posture
per endpoint and the governance grade, built from the facts of each call."""
