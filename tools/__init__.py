"""Tools act on the world (the store's database, the knowledge base) and declare who may call them.

Tools never import nodes or the graph: the gateway is handed everything it needs.
"""
