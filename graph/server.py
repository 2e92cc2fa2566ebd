"""The compiled graph that `langgraph dev` and Aegra serve as ``support``.

The server brings its own checkpointer and store, so this compiles without one.

What leaves a server is the output schema (`core.state.OutputState`), on every road out:
LangGraph streams every state channel on the ``values``, ``updates`` and ``checkpoints`` modes
and in a thread's state, drafts the reply check rejected included, so the served graph streams
only its output channels. Model calls are tagged ``nostream`` (`nodes.llm.ask_model`), so the
``messages`` modes carry only the checked reply (finalize's message). The ``events``, ``debug``
and ``tasks`` modes carry node inputs whatever the graph does: customers may not ask for them
(`server/auth.py`).
"""

from __future__ import annotations

from typing import Any

from graph.builder import SupportGraph, build_graph


def serve(**compile_kwargs: Any) -> SupportGraph:
    """The support graph as a server runs it (tests pass a checkpointer and a store)."""
    graph = build_graph().compile(**compile_kwargs)
    graph.name = "support"
    output = graph.output_channels
    graph.stream_channels = [output] if isinstance(output, str) else list(output)
    return graph


graph = serve()
