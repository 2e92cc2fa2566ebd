"""The outreach graph: an operator's message to many customers (steps in `nodes/outreach.py`).

    choose_audience -> write_message -> review_outreach (interrupt above the threshold) -> queue_messages

Served beside `support` as `outreach` (langgraph.json); run by `switchboard outreach`. Its
threads are the outreach ids (``o-...``).
"""

from __future__ import annotations

from langgraph.graph import START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from core.context import Context
from core.state import OutreachInput, OutreachState
from nodes.outreach import choose_audience, queue_messages, review_outreach, write_message

OutreachGraph = CompiledStateGraph[OutreachState, Context, OutreachInput, OutreachState]


def build_outreach_graph() -> StateGraph[OutreachState, Context, OutreachInput, OutreachState]:
    builder = StateGraph(OutreachState, context_schema=Context, input_schema=OutreachInput, output_schema=OutreachState)
    builder.add_node("choose_audience", choose_audience)
    builder.add_node("write_message", write_message)
    builder.add_node("review_outreach", review_outreach)
    builder.add_node("queue_messages", queue_messages)
    builder.add_edge(START, "choose_audience")
    builder.add_edge("write_message", "review_outreach")
    return builder
