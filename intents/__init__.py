"""The intent model: the 27 intents and the department that owns each (catalog), the trained
classifier, its training and augmentation. Its training utterances are data (data/routing/).

A ground-floor package like retrieval/: nodes use it, it knows nothing of nodes, the graph or tools.
"""
