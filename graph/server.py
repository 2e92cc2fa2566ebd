"""The compiled graph that `langgraph dev` / LangGraph server serves as ``support``.

The server brings its own checkpointer and store, so this compiles without one.
"""

from graph.builder import build_graph

graph = build_graph().compile()
graph.name = "support"
