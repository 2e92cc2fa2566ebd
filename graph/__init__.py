"""Graph assembly: the support graph (builder.py), the plan subgraph (plan.py), and the graph the
servers serve (server.py). Stands above nodes/: it imports the steps; no step imports it."""
