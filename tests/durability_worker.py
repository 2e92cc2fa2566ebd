"""Child-process work for the kill -9 tests, started from a fork server that imported this module.

Importing it loads the graph code and the classifier once, so each forked child
starts in milliseconds and a kill can land anywhere inside a turn.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from typing import Any

from core.context import Context
from core.resources import _classifier
from graph.builder import build_graph
from switchboard.app import open_checkpointer, resume_turn, run_turn

if os.environ.get("SWITCHBOARD_TEST_CLASSIFIER"):
    _classifier(os.environ["SWITCHBOARD_TEST_CLASSIFIER"])


def context(spec: dict[str, Any]) -> Context:
    return Context(customer_id=spec["customer_id"]).with_(
        model="fake:facts",
        database_url=spec["store_url"],
        chroma_dir=spec["kb_dir"],
        classifier_path=spec["classifier_path"],
        rate_limit="100000/minute",
        # dozens of $1 refunds for one customer: durability, not the velocity limit, is under test
        refund_velocity_max_refunds=100_000,
    )


def ask(spec: dict[str, Any], message: str, thread_id: str) -> None:
    with open_checkpointer(spec["checkpoint_url"]) as saver:
        run_turn(build_graph().compile(checkpointer=saver), context(spec), message, thread_id)


def approve(spec: dict[str, Any], thread_id: str) -> None:
    # ValueError: the other approver got there first and nothing is waiting any more.
    with open_checkpointer(spec["checkpoint_url"]) as saver, contextlib.suppress(ValueError):
        resume_turn(
            build_graph().compile(checkpointer=saver),
            context(spec).with_(actor=f"operator:pid{os.getpid()}"),
            thread_id,
            {"type": "approve"},
        )


def resume(spec: dict[str, Any], thread_id: str) -> None:
    from switchboard.threads import resume as resume_thread

    with open_checkpointer(spec["checkpoint_url"]) as saver:
        resume_thread(build_graph().compile(checkpointer=saver), context(spec), thread_id)


def ask_and_freeze(spec: dict[str, Any], message: str, thread_id: str, where: str, reached: Any) -> None:
    """Run a turn that stops dead at the refund and tells the parent, which then kills it.

    ``inside_effect``: the refund row is written but its transaction never commits.
    ``after_effect``: the refund is committed but no checkpoint records it yet, the
    window where a careless resume would pay twice.
    """
    from tools import gateway
    from tools.registry import TOOLS

    def freeze() -> None:
        reached.set()
        time.sleep(3600)

    if where == "inside_effect":
        refund = TOOLS["issue_refund"]

        def refund_then_freeze(conn: Any, ctx: Any, **kwargs: Any) -> Any:
            refund.fn(conn, ctx, **kwargs)
            freeze()

        TOOLS["issue_refund"] = dataclasses.replace(refund, fn=refund_then_freeze)
    elif where == "after_effect":
        run_once = gateway.ToolGateway._run_once

        def run_once_then_freeze(self: Any, name: str, *args: Any) -> Any:
            result = run_once(self, name, *args)
            if name == "issue_refund":
                freeze()
            return result

        gateway.ToolGateway._run_once = run_once_then_freeze  # type: ignore[method-assign]
    else:
        raise ValueError(f"unknown freeze point {where!r}")
    ask(spec, message, thread_id)
