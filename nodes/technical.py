"""The technical specialist: account access, passwords, registration, site errors, help articles."""

from __future__ import annotations

import re
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from core.context import Context
from core.state import SupportState
from nodes.desk import Desk, Script, propose, run_desk, search_kb
from nodes.instrument import instrumented
from retrieval.answers import content_words, pick_answer

_SITE_ERROR = re.compile(
    r"\b(error|crash\w*|500|404|blank (page|screen)|bug|broken|not loading|won'?t load|"
    r"keeps? (failing|freezing)|spinning|timed? ?out)\b",
    re.I,
)
_PASSWORD_ASK = re.compile(
    r"\b(forg[eo]t\w*|reset|new|change|lost|remember)\b.{0,25}\b(password|pw|pass)\b|"
    r"\b(password|pw)\b.{0,25}\b(reset|forgot\w*|lost)\b",
    re.I,
)


def recover_password(desk: Desk, e: dict[str, Any], state: SupportState, ctx: Context) -> None:
    if _SITE_ERROR.search(state["request"]) and not _PASSWORD_ASK.search(state["request"]):
        # "the site throws an error when I log in" is a site problem, not a forgotten password:
        # look for incidents and articles instead of mailing a reset link nobody asked for
        site_problem(desk, e, state, ctx)
        return
    account, status = desk.call_parallel([("get_account_status", {}), ("get_service_status", {})])
    login_down = [i for i in (status.result or {}).get("open_incidents", []) if i["component"] == "login"]
    desk.facts = [f for f in desk.facts if not f.startswith("Known issue") or "login" in f]
    if login_down and not _PASSWORD_ASK.search(state["request"]):  # "send me a password reset" still gets one
        desk.tell(
            "Sign-in problems right now are most likely this known issue, not your password; please try again later."
        )
        return
    if account.ok and account.result and account.result["status"] != "closed":
        desk.call("send_password_reset")


def site_problem(desk: Desk, e: dict[str, Any], state: SupportState, ctx: Context) -> None:
    """Three sources at once (known incidents, the help articles, the customer's past tickets),
    ranked by how much they share with the message; the best become the reply's facts."""
    status, articles, tickets = desk.call_parallel(
        [
            ("get_service_status", {}),
            ("search_knowledge_base", {"query": state["request"][:480], "k": 3}),
            ("list_tickets", {"limit": 5}),
        ]
    )
    words = _words(state["request"])
    vague = bool(_VAGUE_FAULT.search(state["request"]))
    ranked: list[tuple[int, str]] = []
    for incident in (status.result or {}).get("open_incidents", []) if status.ok else []:
        shared = len(words & _words(f"{incident['component']} {incident['title']}"))
        # an incident about payments says nothing to "the app keeps crashing"; to "the site is
        # down" or "I get an error" every open incident may be the answer
        if shared or vague:  # an incident's title is a few specific words: each shared one counts twice
            # "is the site down?" asks for exactly this: the incidents lead
            lead = 10 if state.get("intent") == "service_status" else 0
            ranked.append(
                (
                    2 * shared + 1 + lead,
                    f"Known issue with {incident['component'].replace('_', ' ')}: {incident['title']}.",
                )
            )
    passages = (articles.result or {}).get("passages", []) if articles.ok else []
    answer = pick_answer(state["request"], passages)
    if answer:
        ranked.append((len(words & _words(answer[0])), f"{answer[0]} (source: {answer[1]})"))  # what it says
    for ticket in (tickets.result or {}).get("tickets", []) if tickets.ok else []:
        overlap = len(words & _words(ticket["subject"]))
        if overlap >= 2 and ticket["status"] != "closed":
            ranked.append(
                (overlap, f'Your earlier ticket {ticket["ticket_id"]} "{ticket["subject"]}" is {ticket["status"]}.')
            )
    # The workflow, not the order of the calls, decides what the reply leads with.
    desk.facts = [f for f in desk.facts if not f.startswith(("Known issue", "You have no earlier", "Ticket "))]
    for _, fact in sorted(ranked, key=lambda item: -item[0])[:3]:
        desk.tell(fact)


_VAGUE_FAULT = re.compile(r"\b(?:error|down|outage|not working|doesn'?t work|broken|problem|issue|bug)s?\b", re.I)


def _words(text: str) -> set[str]:
    text = re.sub(r"\b(?:log|sign)[ -]?in\b", "login", text.lower())  # "log in" is the "login" component
    return content_words(text)


def account_help(desk: Desk, e: dict[str, Any], state: SupportState, ctx: Context) -> None:
    desk.call("get_account_status")
    search_kb(desk, state, "account")


def close_account(desk: Desk, e: dict[str, Any], state: SupportState, ctx: Context) -> None:
    account = desk.call("get_account_status", quiet=True)
    if not account.ok or account.result is None:
        return
    if account.result["status"] == "closed":
        desk.tell("Your account is already closed.")
        return
    propose(desk, ctx, "close_account", {})  # policy: a person approves every closure
    if desk.pending:
        desk.tell("Closing an account is checked by a member of our team; I have sent your request for review.")


SCRIPTS: dict[str, Script] = {
    "recover_password": recover_password,
    "registration_problems": site_problem,
    "create_account": site_problem,
    "edit_account": account_help,
    "switch_account": account_help,
    "delete_account": close_account,
}


@instrumented("technical")
def technical(state: SupportState, runtime: Runtime[Context], config: RunnableConfig) -> dict[str, Any]:
    return run_desk("technical", SCRIPTS, site_problem, state, runtime, config)
