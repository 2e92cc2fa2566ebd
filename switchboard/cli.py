"""The `switchboard` command line: talk to the workflow, look at the store, decide approvals.

Exit codes: 0 success, 1 internal failure, 2 a user mistake (one line on stderr, no traceback).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console

from core.context import Context
from core.settings import get_settings
from switchboard.mail_cli import mail_app

app = typer.Typer(
    help="Switchboard: customer support where the workflow decides.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(mail_app, name="mail")
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

CustomerOpt = Annotated[str, typer.Option("--customer", "-c", help="Customer id, e.g. C0007.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
ActorOpt = Annotated[
    str, typer.Option("--as", help="The local operator deciding, e.g. operator:ann or supervisor:bo (audited).")
]
ServerOpt = Annotated[
    str | None,
    typer.Option(
        "--server",
        help="Decide through this server's API (default: SWITCHBOARD_SERVER_URL, which `make up` writes); "
        "a deployment's threads are never decided through the local checkpoints.",
    ),
]
TokenOpt = Annotated[
    str | None,
    typer.Option(
        "--token",
        help="--server: an operator token (default: SWITCHBOARD_OPERATOR_TOKEN, or one signed "
        "here with SWITCHBOARD_TOKEN_KEY for the --as operator).",
    ),
]
ThreadCustomerOpt = Annotated[
    str | None,
    typer.Option("--customer", help="--server: the thread's customer (default: found in the store)."),
]


def fail(message: str, code: int = 2) -> None:
    err.print(f"error: {message}", markup=False)
    raise typer.Exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn known user mistakes into exit code 2 and anything else into a one-line exit code 1."""
    from core.models import ModelConfigError
    from switchboard.app import UserError

    try:
        yield
    except typer.Exit:
        raise
    except (UserError, ModelConfigError, ValueError) as exc:
        fail(str(exc), 2)
    except Exception as exc:
        fail(f"{type(exc).__name__}: {exc}", 1)


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, default=str, ensure_ascii=False) + "\n")


def print_turn(result: dict[str, Any]) -> None:
    case = result.get("case")
    reply = result["reply"] or (case["note"] if case else "")
    out.print(f"[bold]{result['department'] or result['status']}[/bold] › {reply}")
    if result["status"] not in ("answered",):
        out.print(f"  [dim]status: {result['status']}  thread: {result['thread_id']}[/dim]")


def _context(customer: str) -> Context:
    return Context(customer_id=customer)


def _read_message(message: str) -> str:
    if message != "-":
        return message
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        fail("the message is not valid UTF-8 text")
        raise


@app.command()
def ask(
    message: Annotated[str, typer.Argument(help="The customer's message ('-' reads it from stdin).")],
    customer: CustomerOpt,
    thread: Annotated[str | None, typer.Option("--thread", "-t", help="Continue this thread.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Run one customer turn."""
    from switchboard.app import open_graph, run_turn

    text = _read_message(message)
    with user_errors(), open_graph(get_settings()) as graph:
        result = run_turn(graph, _context(customer), text, thread)
    print_json(result) if as_json else print_turn(result)
    if result["status"] == "error" and as_json is False:
        raise typer.Exit(1)


@app.command()
def chat(customer: CustomerOpt, thread: Annotated[str | None, typer.Option("--thread", "-t")] = None) -> None:
    """Talk to Switchboard interactively (one thread across turns; empty line or Ctrl-D ends)."""
    from switchboard.app import UserError, new_thread_id, open_graph, run_turn

    thread_id = thread or new_thread_id()
    ctx = _context(customer)
    with user_errors(), open_graph(get_settings()) as graph:
        out.print(f"[dim]thread {thread_id} — customer {customer}[/dim]")
        while True:
            try:
                line = input("you › ")
            except EOFError:
                break
            if not line.strip():
                break
            try:
                print_turn(run_turn(graph, ctx, line, thread_id))
            except UserError as exc:
                err.print(f"error: {exc}", markup=False)


@app.command()
def classify() -> None:
    """Classify one utterance per stdin line; print one JSON line each."""
    model = Context().resources.classifier
    for line in sys.stdin:
        text = line.rstrip("\n")
        if not text.strip():
            continue
        p = model.predict(text)
        print_json({"text": text, "intent": p.intent, "department": p.department, "confidence": round(p.confidence, 4)})


class Table(StrEnum):
    customers = "customers"
    orders = "orders"
    refunds = "refunds"
    tickets = "tickets"
    audit = "audit"
    tools = "tools"
    intents = "intents"
    metrics = "metrics"
    outbox = "outbox"
    approvals = "approvals"
    webhooks = "webhooks"
    token = "token"


@app.command()
def admin(
    table: Annotated[Table, typer.Argument(help="What to show (`token` prints a bearer token instead).")],
    customer: Annotated[str | None, typer.Option("--customer", "-c")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 50,
    as_json: JsonOpt = False,
    operator: Annotated[str | None, typer.Option("--operator", help="token: for this operator.")] = None,
    role: Annotated[str | None, typer.Option("--role", help="token: operator or supervisor.")] = None,
    ttl: Annotated[str | None, typer.Option("--ttl", help="token: lifetime, e.g. 15m, 8h, 30d.")] = None,
    kpi: Annotated[
        bool, typer.Option("--kpi", help="metrics: the support manager's figures (containment, turnaround...).")
    ] = False,
) -> None:
    """The operator's view of the store, the permission matrix and the intent map; `admin token` signs a token."""
    from switchboard import admin as views

    if table is Table.metrics and kpi:
        _kpi(as_json)
        return

    if table is Table.token:
        from server.tokens import issue_token

        with user_errors():
            sys.stdout.write(issue_token(customer=customer, operator=operator, role=role, ttl=ttl) + "\n")
        return
    with user_errors():
        rows = views.VIEWS[table.value](Context(customer_id=customer or ""), customer, limit)
    if as_json:
        print_json(rows)
    else:
        views.print_table(out, table.value, rows)


KPI_COLUMNS = (
    ("conversations", "conv"),
    ("containment", "contained"),
    ("escalation_rate", "escalated"),
    ("first_contact_resolution", "FCR"),
    ("approval_turnaround_p50_h", "appr p50 h"),
    ("approval_turnaround_p95_h", "appr p95 h"),
    ("approvals_overdue", "overdue"),
    ("handoff_first_reply_p50_min", "handoff p50 min"),
    ("cost_per_resolved_usd", "$/resolved"),
)


def _kpi(as_json: bool) -> None:
    from rich.table import Table as RichTable

    from switchboard.app import open_graph
    from switchboard.kpi import kpi_report

    settings = get_settings()
    with user_errors(), open_graph(settings) as graph:
        report = kpi_report(Context(settings=settings).resources.engine, graph, settings.now())
    if as_json:
        print_json({k: v for k, v in report.items() if k != "conversations"})
        return
    table = RichTable(title=f"support figures as of {report['as_of']}")
    table.add_column("")
    for _, label in KPI_COLUMNS:
        table.add_column(label, justify="right")
    rows = [("overall", report["overall"])]
    rows += [(f"day {d}", f) for d, f in report["by_day"].items()]
    rows += [(f"dept {d}", f) for d, f in report["by_department"].items()]
    for name, figures in rows:
        table.add_row(name, *("" if figures[k] is None else f"{figures[k]:g}" for k, _ in KPI_COLUMNS))
    out.print(table)


@app.command()
def ingest() -> None:
    """Rebuild the knowledge index incrementally from data/kb."""
    with user_errors():
        report = Context().resources.knowledge_base.ingest()
    print_json(report.__dict__)


@app.command()
def setup() -> None:
    """Create the store database, train the classifier and build the knowledge index when missing."""
    from switchboard.app import set_up

    with user_errors():
        report = set_up(get_settings())
    print_json(report.__dict__)


def _server(server: str | None) -> str:
    return server or get_settings().server_url


def _decide(
    thread: str,
    decision: dict[str, Any],
    actor: str,
    as_json: bool,
    server: str | None = None,
    token: str | None = None,
    customer: str | None = None,
) -> None:
    """The CLI is the trusted local operator: ``--as`` is who decides (the graph checks the role).
    Against a deployment it decides through the server's API, as that operator."""
    from switchboard.app import open_graph, resume_turn, thread_customer
    from switchboard.outreach import decide_outreach, is_outreach, open_outreach_graph

    if is_outreach(thread):  # an outreach waits in its own graph
        with user_errors(), open_outreach_graph(get_settings()) as outreach_graph:
            done = decide_outreach(outreach_graph, Context(actor=actor), thread, decision)
        print_json(done) if as_json else out.print(done["reply"], markup=False)
        return
    if url := _server(server):
        from switchboard import remote

        with user_errors():
            result = remote.decide(get_settings(), url, thread, decision, actor=actor, token=token, customer=customer)
    else:
        with user_errors(), open_graph(get_settings()) as graph:
            ctx = Context(customer_id=thread_customer(graph, thread), actor=actor)
            result = resume_turn(graph, ctx, thread, decision)
    print_json(result) if as_json else print_turn(result)
    approval = result.get("approval")
    if approval and not as_json:
        out.print(f"  [dim]{approval['approvals']} of {approval['needed']} approvals · {approval['note']}[/dim]")


@app.command()
def approve(
    thread: str,
    actor: ActorOpt = "operator:cli",
    as_json: JsonOpt = False,
    server: ServerOpt = None,
    token: TokenOpt = None,
    customer: ThreadCustomerOpt = None,
) -> None:
    """Approve the action a thread is waiting on (above the four-eyes threshold: one of two approvals)."""
    _decide(thread, {"type": "approve"}, actor, as_json, server, token, customer)


@app.command()
def reject(
    thread: str,
    reason: Annotated[str, typer.Option("--reason")],
    actor: ActorOpt = "operator:cli",
    as_json: JsonOpt = False,
    server: ServerOpt = None,
    token: TokenOpt = None,
    customer: ThreadCustomerOpt = None,
) -> None:
    """Reject the action a thread is waiting on."""
    _decide(thread, {"type": "reject", "message": reason}, actor, as_json, server, token, customer)


@app.command()
def edit(
    thread: str,
    args: Annotated[str, typer.Option("--args", help="Edited arguments as JSON.")],
    actor: ActorOpt = "operator:cli",
    as_json: JsonOpt = False,
    server: ServerOpt = None,
    token: TokenOpt = None,
    customer: ThreadCustomerOpt = None,
) -> None:
    """Edit the arguments of the waiting action, then run it."""
    try:
        parsed = json.loads(args)
    except json.JSONDecodeError as exc:
        fail(f"--args is not valid JSON: {exc.msg}")
        return
    if not isinstance(parsed, dict):
        fail("--args must be a JSON object")
    _decide(thread, {"type": "edit", "args": parsed}, actor, as_json, server, token, customer)


@app.command()
def inbox(
    as_json: JsonOpt = False,
    scan: Annotated[
        bool,
        typer.Option(
            "--scan",
            help="Read every checkpoint instead of the index (slow; finds threads paused before the index existed).",
        ),
    ] = False,
) -> None:
    """Approvals waiting for a person, across threads, newest first."""
    from switchboard.app import open_graph
    from switchboard.threads import inbox as list_waiting

    settings = get_settings()
    with user_errors(), open_graph(settings) as graph:
        rows = list_waiting(graph, scan=scan, now=settings.now())
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print("nothing is waiting for a decision")
    for row in rows:
        out.print(
            f"[bold]{row['thread_id']}[/bold] {row['customer_id']} · {row['action']} {json.dumps(row['args'])}"
            f" · {row['description']} · {row['approvals']}/{row['needed']} approvals · {row['queue']}"
            f" · due {row['deadline']}{' [red]OVERDUE[/red]' if row['overdue'] else ''}"
        )


def _moment(text: str | None) -> Any:
    """``--now`` as an aware datetime (UTC when no zone is given), or the settings' clock."""
    from datetime import UTC, datetime

    if text is None:
        return get_settings().now()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        fail(f"--now is not an ISO 8601 time: {text!r} (e.g. 2026-11-16T12:00:00Z)")
        raise
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@app.command()
def sweep(
    now: Annotated[str | None, typer.Option("--now", help="Apply deadlines as of this ISO 8601 time.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Escalate or reject approvals past their deadline (the customer is told), then deliver due webhooks."""
    from switchboard.app import open_graph
    from switchboard.sweep import sweep as run_sweep

    moment = _moment(now)
    settings = get_settings()
    with user_errors(), open_graph(settings) as graph:
        report = run_sweep(graph, settings, moment).to_dict()
    if as_json:
        print_json(report)
        return
    for item in report["escalated"]:
        out.print(
            f"escalated {item['thread_id']} ({item['kind']}) to the {item['queue']} queue, due {item['new_deadline']}"
        )
    for item in report["rejected"]:
        out.print(f"rejected {item['thread_id']} ({item['kind']}): not decided by {item['deadline']}")
    hooks = report["webhooks"]
    out.print(f"webhooks: {hooks['sent']} sent, {hooks['retried']} to retry, {hooks['failed']} failed")


@app.command()
def resume(
    thread: str,
    as_json: JsonOpt = False,
    server: ServerOpt = None,
    token: TokenOpt = None,
    customer: ThreadCustomerOpt = None,
    actor: ActorOpt = "operator:cli",
) -> None:
    """Continue a thread from its last checkpoint (after a crash or kill -9)."""
    from switchboard.app import open_graph
    from switchboard.threads import resume as resume_thread

    if url := _server(server):
        from switchboard import remote

        with user_errors():
            result = remote.resume(get_settings(), url, thread, actor=actor, token=token, customer=customer)
        print_json(result) if as_json else print_turn(result)
        return
    with user_errors(), open_graph(get_settings()) as graph:
        result = resume_thread(graph, Context(), thread)
    print_json(result) if as_json else print_turn(result)


@app.command()
def history(thread: str, as_json: JsonOpt = False) -> None:
    """Checkpoints of a thread: step, next node, side effects after each."""
    from switchboard.app import open_graph
    from switchboard.threads import history as thread_history

    with user_errors(), open_graph(get_settings()) as graph:
        rows = thread_history(graph, Context(), thread)
    if as_json:
        print_json(rows)
        return
    for row in rows:
        effects = ", ".join(f"{e['tool']}{' (undone)' if e['compensated'] else ''}" for e in row["effects_after"])
        out.print(
            f"{row['checkpoint_id']}  step {row['step']:>3}  turn {row['turn']}  next {','.join(row['next']) or '-'}"
            f"  {('effects after: ' + effects) if effects else ''}"
        )


@app.command()
def rollback(
    thread: str,
    to: Annotated[str, typer.Option("--to", help="Checkpoint id from `switchboard history`.")],
    route: Annotated[str | None, typer.Option("--route", help="Continue at this department.")] = None,
    actor: ActorOpt = "operator:cli",
    as_json: JsonOpt = False,
) -> None:
    """Fork a thread at a checkpoint, undo the effects made after it, and continue."""
    from switchboard.app import open_graph
    from switchboard.threads import rollback as rollback_thread

    with user_errors(), open_graph(get_settings()) as graph:
        result = rollback_thread(graph, Context(), thread, to, route=route, actor=actor)
    if as_json:
        print_json(result)
        return
    for item in result["compensated"]:
        out.print(f"[dim]undone: {item['tool']} ({item['outcome']})[/dim]")
    print_turn(result)


case_app = typer.Typer(
    help="Work on a case: assign, reply, release (back to the bot), resolve, show.", no_args_is_help=True
)
app.add_typer(case_app, name="case")


def _print_case(case: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(case)
        return
    owner = f" · {case['owner']}" if case.get("owner") else ""
    out.print(f"case {case['id']} · {case['status']}{owner} · thread {case['thread_id']}")


@app.command()
def cases(
    mine: Annotated[bool, typer.Option("--mine", help="Only the cases held by --as.")] = False,
    actor: ActorOpt = "operator:cli",
    resolved: Annotated[bool, typer.Option("--resolved", help="Include resolved cases.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Cases handed to a person, newest first: status, owner, urgency, unanswered customer messages, summary."""
    from switchboard.cases import cases_view

    with user_errors():
        rows = cases_view(Context(), owner=actor if mine else None, include_resolved=resolved)
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print("no cases")
    for row in rows:
        waiting = f" · {row['unanswered']} unanswered" if row["unanswered"] else ""
        out.print(
            f"[bold]case {row['case_id']}[/bold] {row['status']} · {row['owner'] or 'unassigned'} · "
            f"{row['urgency']} · {row['customer_id']}{waiting}\n  {row['summary']}"
        )


@case_app.command("show")
def case_show(case_id: int, as_json: JsonOpt = False) -> None:
    """The case with its hand-over and the messages exchanged while a person held it."""
    from switchboard.cases import show

    with user_errors():
        case = show(Context(), case_id)
    if as_json:
        print_json(case)
        return
    handover = case["handover"]
    out.print(f"[bold]case {case['id']}[/bold] · {case['status']} · {case['owner'] or 'unassigned'}")
    out.print(handover.get("summary", ""), markup=False)
    out.print(f"wants: {handover.get('wants', '')}", markup=False)
    out.print(f"sentiment {handover.get('sentiment')} · urgency {handover.get('urgency')}")
    for action in handover.get("suggested_actions", []):
        out.print(f"  → {action}", markup=False)
    for message in case["messages"]:
        out.print(f"  [{message['direction']}] {message['author']}: {message['body']}", markup=False)


@case_app.command("assign")
def case_assign(case_id: int, actor: ActorOpt = "operator:cli", as_json: JsonOpt = False) -> None:
    """Take the case: the bot stops answering in its thread; the customer's messages come to you."""
    from switchboard.cases import assign

    with user_errors():
        case = assign(Context(), case_id, actor)
    _print_case(case, as_json)


@case_app.command("reply")
def case_reply(case_id: int, text: str, actor: ActorOpt = "operator:cli", as_json: JsonOpt = False) -> None:
    """Reply to the customer in their thread."""
    from switchboard.app import open_graph
    from switchboard.cases import reply

    with user_errors(), open_graph(get_settings()) as graph:
        case = reply(graph, Context(), case_id, actor, text)
    _print_case(case, as_json)


@case_app.command("release")
def case_release(case_id: int, actor: ActorOpt = "operator:cli", as_json: JsonOpt = False) -> None:
    """Return the thread to the bot, which continues with everything said."""
    from switchboard.app import open_graph
    from switchboard.cases import release

    with user_errors(), open_graph(get_settings()) as graph:
        case = release(graph, Context(), case_id, actor)
    _print_case(case, as_json)


@case_app.command("resolve")
def case_resolve(
    case_id: int,
    text: Annotated[str | None, typer.Argument(help="A last message to the customer.")] = None,
    actor: ActorOpt = "operator:cli",
    as_json: JsonOpt = False,
) -> None:
    """Resolve the case (and close its ticket); the bot answers in the thread again."""
    from switchboard.app import open_graph
    from switchboard.cases import resolve

    with user_errors(), open_graph(get_settings()) as graph:
        case = resolve(graph, Context(), case_id, actor, text)
    _print_case(case, as_json)


@app.command()
def outreach(
    actor: ActorOpt,
    incident: Annotated[
        int | None, typer.Option("--incident", help="Customers with an order or payment during it.")
    ] = None,
    status: Annotated[
        str, typer.Option("--order-status", help="Customers with an order in these states (comma list).")
    ] = "",
    customers: Annotated[str, typer.Option("--customers", help="Named customers (comma list).")] = "",
    limit: Annotated[int | None, typer.Option("--limit", min=1)] = None,
    subject: Annotated[str | None, typer.Option("--subject")] = None,
    text: Annotated[str | None, typer.Option("--text", help="The message ({name} becomes each first name).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Message many customers by email: chosen from the store, reviewed by a person above the threshold."""
    from switchboard.outreach import open_outreach_graph, start_outreach

    request: dict[str, Any] = {"incident_id": incident, "limit": limit, "subject": subject, "body": text,
                               "order_statuses": [s.strip() for s in status.split(",") if s.strip()],
                               "customer_ids": [c.strip() for c in customers.split(",") if c.strip()]}  # fmt: skip
    with user_errors(), open_outreach_graph(get_settings()) as graph:
        result = start_outreach(graph, Context(actor=actor), request)  # type: ignore[arg-type]
    print_json(result) if as_json else out.print(result["reply"], markup=False)
    if result["status"] == "error":
        raise typer.Exit(1)


@app.command()
def demo() -> None:
    """A short real conversation with a seeded customer, on the configured model."""
    from switchboard.demo import run_demo

    with user_errors():
        run_demo(out)


def main(argv: list[str] | None = None) -> Callable[..., Any]:
    return app(argv)


if __name__ == "__main__":
    app()
