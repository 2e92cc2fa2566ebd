"""The technical specialist: account access, passwords, registration, site errors, help articles."""

from __future__ import annotations

import re
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from core.context import Context
from core.state import SupportState
from nodes.desk import Desk, Script, article_of, propose, run_desk, search_kb, tell_section
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


LOCK_ARTICLE = "locked-account"
_SAYS_LOCKED = re.compile(r"\block(?:ed)?\b|\block-?out\b", re.I)


def recover_password(desk: Desk, e: dict[str, Any], state: SupportState, ctx: Context) -> None:
    if _SITE_ERROR.search(state["request"]) and not _PASSWORD_ASK.search(state["request"]):
        # "the site throws an error when I log in" is a site problem, not a forgotten password:
        # look for incidents and articles instead of mailing a reset link nobody asked for
        site_problem(desk, e, state, ctx)
        return
    account, status = desk.call_parallel([("get_account_status", {}), ("get_service_status", {})])
    login_down = [i for i in (status.result or {}).get("open_incidents", []) if i["component"] == "login"]
    locked = bool(account.ok and account.result and account.result["status"] == "locked")
    # a locked account is why this customer cannot sign in: an incident is not, and saying it
    # might be ("not your password") would contradict the lock
    desk.facts = [f for f in desk.facts if not f.startswith("Known issue") or ("login" in f and not locked)]
    if login_down and not locked and not _PASSWORD_ASK.search(state["request"]):  # "send me a reset" still gets one
        desk.tell(
            "Sign-in problems right now are most likely this known issue, not your password; please try again later."
        )
        return
    if locked and _SAYS_LOCKED.search(state["request"]):
        unlock_options(desk, state)
    if account.ok and account.result and account.result["status"] != "closed":
        desk.call("send_password_reset")


_NOT_ME = re.compile(
    r"\b(?:wasn'?t|was not|weren'?t|didn'?t|did not|never)\s+(?:me|(?:even\s+)?(?:trying|try|tried)|log\w*|sign\w*)\b"
    r"|\bnot me\b|\bsomeone else\b|\bhack\w*\b",
    re.I,
)


def unlock_options(desk: Desk, state: SupportState) -> None:
    """The customer names the lock: the ways out of it, from the article on locked accounts (and,
    when they were not the one signing in, what to do about that first)."""
    page = article_of(desk, f"account locked unlock {state['request']}", LOCK_ARTICLE)
    if page is None:
        return
    document = str(page["document"])
    if _NOT_ME.search(state["request"]):
        tell_section(desk, document, LOCK_ARTICLE, "Was it me?", limit=3)
    options = _numbered(document, "Unlocking")
    if options:
        desk.tell("To unlock your account: " + " ".join(options) + f" (source: {LOCK_ARTICLE})")


def _numbered(document: str, heading: str) -> list[str]:
    """The numbered items under ``heading`` of a help article, as plain sentences."""
    section = re.split(r"^#+\s+", document, flags=re.M)
    body = next((part for part in section if part.lower().startswith(heading.lower())), "")
    return [m.group(1).replace("**", "").strip() for m in re.finditer(r"^\s*\d+\.\s+(.+)$", body, flags=re.M)]


def _mentions_lock(desk: Desk, e: dict[str, Any], state: SupportState, ctx: Context) -> None:
    """Any technical script: a customer who says the account is locked hears how to unlock it
    (when it is locked), whatever the intent the message was read as."""
    if not _SAYS_LOCKED.search(state["request"]) or LOCK_ARTICLE in desk.citations:
        return
    if not any(r["name"] == "get_account_status" for r in desk.records):
        desk.call("get_account_status")
    if any(f.startswith("Your account ") and f.endswith(" is locked.") for f in desk.facts):
        unlock_options(desk, state)


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


def _and_lock(script: Script) -> Script:
    def run(desk: Desk, e: dict[str, Any], state: SupportState, ctx: Context) -> None:
        script(desk, e, state, ctx)
        _mentions_lock(desk, e, state, ctx)

    run.__name__ = script.__name__
    return run


SCRIPTS: dict[str, Script] = {
    "recover_password": _and_lock(recover_password),
    "registration_problems": _and_lock(site_problem),
    "create_account": _and_lock(site_problem),
    "edit_account": _and_lock(account_help),
    "switch_account": _and_lock(account_help),
    "delete_account": close_account,
}


@instrumented("technical")
def technical(state: SupportState, runtime: Runtime[Context], config: RunnableConfig) -> dict[str, Any]:
    return run_desk("technical", SCRIPTS, _and_lock(site_problem), state, runtime, config)
