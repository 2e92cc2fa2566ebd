"""Graph assembly: state, context and the builder.

Kept free of an eager import of the builder so nodes can import the state
and context without looping back into the graph that imports them.
"""
