"""Held-out sets and the runner for the intent classifier (``python -m evals.routing.run``)."""
