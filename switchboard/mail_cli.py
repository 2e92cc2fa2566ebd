"""`switchboard mail ...`: run the email channel (SMTP in, worker, outbox out) and look at it."""

from __future__ import annotations

import importlib
import json
import logging
import sys
from contextlib import ExitStack
from typing import Annotated, Any

import typer

mail_app = typer.Typer(
    help="The email channel: SMTP in, threaded replies out through the outbox.",
    no_args_is_help=True,
)

RunnerOpt = Annotated[
    str,
    typer.Option(
        "--runner",
        help="'graph': the deployment's servers when SWITCHBOARD_SERVER_URL is set (make up writes it), "
        "else the support graph in this process; 'local': this process in any case; or module:factory, a "
        "callable (engine, Settings, ExitStack) -> (TurnRunner, Resumer, search) for tests and tools.",
    ),
]


def build_channel(runner: str, stack: ExitStack) -> Any:
    from core.settings import get_settings
    from mail.channel import MailChannel
    from store.db import create_schema, make_engine

    settings = get_settings()
    engine = make_engine(settings.resolved_database_url())
    create_schema(engine)  # adds the mail tables to an existing store
    if runner == "graph" and settings.server_url:  # a deployment: its servers run the turns
        from switchboard.mail_remote import server_parts

        run, resume, search, read = server_parts(settings, settings.server_url)
        return MailChannel(engine, settings, run, resume, search, read_thread=read)
    if runner in ("graph", "local"):
        from switchboard.mail_graph import graph_parts

        run, resume, search, read = graph_parts(settings, stack)
        return MailChannel(engine, settings, run, resume, search, read_thread=read)
    module, _, name = runner.partition(":")
    run, resume, search = getattr(importlib.import_module(module), name or "factory")(engine, settings, stack)
    return MailChannel(engine, settings, run, resume, search)


@mail_app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="SMTP port.")] = 2525,
    runner: RunnerOpt = "graph",
    deliver: Annotated[bool, typer.Option(help="Also deliver the outbox from this process.")] = True,
) -> None:
    """Receive mail for the support address, answer it, deliver the outbox; stops cleanly on SIGTERM."""
    import asyncio

    from mail.server import serve as serve_mail

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")

    def ready(bound_host: str, bound_port: int) -> None:
        sys.stdout.write(json.dumps({"listening": f"{bound_host}:{bound_port}"}) + "\n")
        sys.stdout.flush()

    with ExitStack() as stack:
        channel = build_channel(runner, stack)
        asyncio.run(serve_mail(channel, host, port, on_ready=ready, deliver=deliver))


@mail_app.command("process")
def process(runner: RunnerOpt = "graph", deliver: Annotated[bool, typer.Option()] = True) -> None:
    """Process every stored inbound message once (no server), then deliver the outbox once."""
    with ExitStack() as stack:
        channel = build_channel(runner, stack)
        done = channel.drain()
        report = channel.deliver() if deliver else None
    for item in done:
        sys.stdout.write(json.dumps(item.__dict__, default=str) + "\n")
    if report:
        sys.stdout.write(json.dumps({"sent": report.sent, "retried": report.retried, "failed": report.failed}) + "\n")


@mail_app.command("inbox")
def inbox(
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Inbound messages with their status and outcome, newest first."""
    from sqlalchemy import select

    from core.settings import get_settings
    from store.db import create_schema, make_engine
    from store.schema import mail_inbox

    engine = make_engine(get_settings().resolved_database_url())
    create_schema(engine)
    c = mail_inbox.c
    query = (
        select(
            c.id,
            c.received_at,
            c.source,
            c.message_id,
            c.status,
            c.outcome,
            c.customer_id,
            c.thread_id,
            c.deliveries,
            c.attempts,
            c.detail,
        )
        .order_by(c.id.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    if as_json:
        sys.stdout.write(json.dumps(rows, default=str) + "\n")
        return
    for r in rows:
        sys.stdout.write(
            f"{r['id']:>5} {r['status']:<10} {r['outcome'] or '-':<22} {r['customer_id'] or '-':<6} "
            f"{r['thread_id'] or '-'}  {r['message_id'] or ''}\n"
        )
