"""The technical specialist: account access, passwords, registration, site errors, help articles."""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from graph.context import Context
from graph.state import SupportState
from nodes.desk import Desk
from nodes.instrument import instrumented
from nodes.specialist import Script, propose, run_desk, search_kb


def recover_password(desk: Desk, e: dict[str, Any], state: SupportState, ctx: Context) -> None:
    account = desk.call("get_account_status")
    if account.ok and account.result and account.result["status"] != "closed":
        desk.call("send_password_reset")


def site_problem(desk: Desk, e: dict[str, Any], state: SupportState, ctx: Context) -> None:
    desk.call("get_service_status")
    search_kb(desk, state)


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
