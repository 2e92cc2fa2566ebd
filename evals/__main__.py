"""``python -m evals``: see `evals.cli`."""

from evals.cli import app

app(prog_name="python -m evals")
