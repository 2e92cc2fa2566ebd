"""Evals: versioned held-out datasets and the runners that score the product against them."""
