"""The baselines of the graph-overhead figure: bare LangGraph tool-calling loops.

An ``agent <-> tools`` StateGraph over ``MessagesState`` (what ``create_react_agent`` builds),
driven by a scripted chat model that asks for ``get_order`` and then ``get_shipment`` on the
order number in the message, then answers with the tool results. The tools run the project's
own query functions (``tools.orders``) on the same SQLite store, without the gateway (no
permission check, validation, audit or idempotency ledger) and without routing, grounding or
metrics: the same tool calls, and nothing else.

Two variants of the tools node:

- ``toolnode``: LangGraph's prebuilt ``ToolNode`` with LangChain ``@tool`` functions, as
  ``create_react_agent`` does (it runs the calls through a thread pool);
- ``minimal``: a plain function node that calls the query functions directly: the floor.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import BaseTool, tool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.prebuilt import ToolNode, tools_condition

_ORDER = re.compile(r"\d{4,}")


class ToolScriptModel(BaseChatModel):
    """Zero-latency scripted model: get_order, then get_shipment, then a reply from the results."""

    @property
    def _llm_type(self) -> str:
        return "bench-tool-script"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        last_human = max(i for i, m in enumerate(messages) if isinstance(m, HumanMessage))
        results = [m for m in messages[last_human:] if isinstance(m, ToolMessage)]
        match = _ORDER.search(str(messages[last_human].content))
        if match is None:
            message = AIMessage(content="Which order do you mean?")
        elif len(results) < 2:
            name = ("get_order", "get_shipment")[len(results)]
            call = {"name": name, "args": {"order_id": int(match.group())}, "id": f"call_{uuid.uuid4().hex[:8]}"}
            message = AIMessage(content="", tool_calls=[call])
        else:
            message = AIMessage(content=" ".join(str(m.content) for m in results))
        tokens = sum(len(str(m.content).split()) for m in messages)
        out = len(str(message.content).split())
        message.usage_metadata = {"input_tokens": tokens, "output_tokens": out, "total_tokens": tokens + out}
        return ChatResult(generations=[ChatGeneration(message=message)])


def order_functions(database_url: str, customer_id: str) -> dict[str, Callable[[int], str]]:
    """get_order and get_shipment over the store, for one customer (same SQL as the real tools)."""
    from store.db import make_engine
    from tools import orders
    from tools.base import ToolContext

    engine = make_engine(database_url)
    tctx = ToolContext(customer_id=customer_id, thread_id="bare", node="agent")

    def get_order(order_id: int) -> str:
        """Look up one of the customer's orders."""
        with engine.connect() as conn:
            return json.dumps(orders.get_order(conn, tctx, order_id), default=str)

    def get_shipment(order_id: int) -> str:
        """Look up the latest shipment of one of the customer's orders."""
        with engine.connect() as conn:
            return json.dumps(orders.get_shipment(conn, tctx, order_id), default=str)

    return {"get_order": get_order, "get_shipment": get_shipment}


def _minimal_tools_node(functions: dict[str, Callable[[int], str]]) -> Callable[[MessagesState], dict[str, Any]]:
    def run_tools(state: MessagesState) -> dict[str, Any]:
        last = state["messages"][-1]
        assert isinstance(last, AIMessage)
        return {
            "messages": [
                ToolMessage(content=functions[c["name"]](**c["args"]), tool_call_id=c["id"], name=c["name"])
                for c in last.tool_calls
            ]
        }

    return run_tools


def build_bare_agent(
    database_url: str, customer_id: str, checkpointer: BaseCheckpointSaver, *, variant: str = "toolnode"
) -> CompiledStateGraph:
    model = ToolScriptModel()
    functions = order_functions(database_url, customer_id)

    def agent(state: MessagesState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("agent", agent)
    if variant == "toolnode":
        tools: list[BaseTool] = [tool(fn) for fn in functions.values()]
        builder.add_node("tools", ToolNode(tools))
    elif variant == "minimal":
        builder.add_node("tools", _minimal_tools_node(functions))
    else:
        raise ValueError(f"unknown bare agent variant {variant!r}")
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", tools_condition)
    builder.add_edge("tools", "agent")
    return builder.compile(checkpointer=checkpointer)


def tool_calls_of(state: dict[str, Any]) -> list[str]:
    return [c["name"] for m in state["messages"] if isinstance(m, AIMessage) for c in m.tool_calls]
