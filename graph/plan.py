"""The plan-then-execute subgraph: make a plan, let a person review it when policy says so,
then run one checkpointed step at a time (the steps live in `nodes/planning.py`).

    make_plan -> review_plan (interrupt) -> execute_step -> execute_step ... -> END
"""

from __future__ import annotations

from langgraph.graph import START, StateGraph

from core.context import Context
from core.state import PlanInput, PlanOutput, PlanState
from graph.owner import acting_for_owner
from nodes.planning import execute_step, make_plan, review_plan


def build_plan_graph() -> StateGraph[PlanState, Context, PlanInput, PlanOutput]:
    builder = StateGraph(PlanState, context_schema=Context, input_schema=PlanInput, output_schema=PlanOutput)
    builder.add_node("make_plan", acting_for_owner(make_plan))  # the steps act for the thread's owner
    builder.add_node("review_plan", acting_for_owner(review_plan))
    builder.add_node("execute_step", acting_for_owner(execute_step))
    builder.add_edge(START, "make_plan")
    return builder
