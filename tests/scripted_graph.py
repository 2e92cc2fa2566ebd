"""The support graph as graph/server.py serves it, on a scripted model registered in the server's process.

Test servers serve this module as ``support`` with ``SWITCHBOARD_MODEL=fake:server-script``:
- every first draft states facts nobody gave it (order 99999, $123.45, Zanzibar), so the reply check
  rejects it and the repair (which restates the facts) goes out: a stream that carries the
  rejected draft shows ``Zanzibar``;
- a request that says ``TIMEOUT-ME`` makes the model time out (the turn falls back).
"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.messages import BaseMessage

from core.models import ScriptedChatModel, register_fake, restate_facts
from graph.server import serve

MODEL = "fake:server-script"
WRONG_DRAFT = "Good news: order 99999 was refunded $123.45 and arrives in Zanzibar tomorrow."
TIMEOUT_WORD = "TIMEOUT-ME"


def respond(messages: Sequence[BaseMessage]) -> str:
    prompt = str(messages[-1].content)
    if TIMEOUT_WORD in prompt:
        raise TimeoutError("the model did not answer in time (scripted)")
    return restate_facts(messages) if "was rejected because" in prompt else WRONG_DRAFT


class _Forgetful(ScriptedChatModel):
    """Keeps no call log: a server answers thousands of turns."""

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[no-untyped-def]
        result = super()._generate(messages, stop, run_manager, **kwargs)
        self.calls.clear()
        return result


register_fake(MODEL.split(":", 1)[1], _Forgetful(name_=MODEL, responder=respond))
graph = serve()
