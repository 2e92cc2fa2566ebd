"""Routing: the intent vocabulary, the intent -> department map and the trained classifier."""
