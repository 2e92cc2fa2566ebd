"""Shared vocabulary of the support graph: settings, run context, state, resources, models.

Every layer above (nodes, graph, the CLI, the server, the mail channel) imports these;
they import only the data layer, retrieval and the intent model, and never a node.
"""
