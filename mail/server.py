"""`switchboard mail serve`: the SMTP server, the worker and the outbox deliverer in one process.

The server (aiosmtpd) accepts mail only for the support address and answers 250 only after
the raw message is committed to ``mail_inbox``; if the database cannot take it, it answers
451 and the sending MTA retries later, so nothing is lost. The worker processes stored
messages one at a time (on start it first takes whatever an earlier run left); the deliverer
sends the outbox. SIGTERM or SIGINT stop it cleanly: no new connections, the message being
processed is finished, then the process exits.

In production it sits behind the store's MTA, e.g. Postfix with
``transport_maps = hash:/etc/postfix/transport`` and the line
``support@northwind.example  smtp:[127.0.0.1]:2525`` (plus the domain in ``relay_domains``),
with OpenDKIM/OpenDMARC or an SPF policy milter writing ``Authentication-Results`` under the
authserv-id given in ``SWITCHBOARD_TRUSTED_AUTHSERV_IDS``.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from mail.channel import MailChannel

log = logging.getLogger("switchboard.mail")


class InboundHandler:
    """aiosmtpd handler: accept mail for the support address, store it, then say 250."""

    def __init__(self, channel: MailChannel, wake: Callable[[], None]) -> None:
        self.channel = channel
        self.wake = wake
        self.accepted = {channel.settings.support_address.lower()}

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address.lower() not in self.accepted:
            return f"550 5.1.1 <{address}>: no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        try:
            stored = await asyncio.to_thread(
                self.channel.receive,
                bytes(raw or b""),
                envelope_from=envelope.mail_from or "<>",  # MAIL FROM:<>, the null sender
                envelope_to=list(envelope.rcpt_tos),
                source="smtp",
            )
        except Exception:
            log.exception("could not store an inbound message")
            return "451 4.3.0 Could not store the message; please try again later"
        self.wake()
        what = "already received" if stored.duplicate else "queued"
        return f"250 2.0.0 OK: {what} as {stored.inbox_id}"


async def serve(
    channel: MailChannel,
    host: str = "127.0.0.1",
    port: int = 2525,
    *,
    stop: asyncio.Event | None = None,
    on_ready: Callable[[str, int], Any] | None = None,
    deliver: bool = True,
    handle_signals: bool = True,
) -> None:
    """Run until ``stop`` is set (or SIGTERM/SIGINT when ``handle_signals``)."""
    loop = asyncio.get_running_loop()
    stop = stop or asyncio.Event()
    work, send = asyncio.Event(), asyncio.Event()
    if handle_signals:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    settings = channel.settings
    handler = InboundHandler(channel, work.set)
    server = await loop.create_server(
        lambda: SMTP(
            handler,
            data_size_limit=settings.mail_max_message_bytes,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname=settings.support_domain,
            ident="Switchboard mail",
        ),
        host,
        port,
    )
    bound = server.sockets[0].getsockname()
    log.info("mail: listening on %s:%s for %s", bound[0], bound[1], settings.support_address)
    if on_ready:
        on_ready(bound[0], bound[1])

    async def wait(event: asyncio.Event) -> None:
        event.clear()
        waiters = [asyncio.ensure_future(event.wait()), asyncio.ensure_future(stop.wait())]
        await asyncio.wait(waiters, timeout=settings.mail_poll_s, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()

    async def worker() -> None:
        while not stop.is_set():
            try:
                item = await asyncio.to_thread(channel.process_next)
            except Exception:  # the database went away: wait and try again
                log.exception("mail worker")
                item = None
            if item is None:
                await wait(work)
            elif item.outbox_id is not None:
                send.set()

    async def deliverer() -> None:
        while not stop.is_set():
            try:
                report = await asyncio.to_thread(channel.deliver)
            except Exception:
                log.exception("mail deliverer")
                report = None
            if report is None or not (report.sent or report.failed or report.retried):
                await wait(send)

    tasks = [asyncio.create_task(worker())] + ([asyncio.create_task(deliverer())] if deliver else [])
    try:
        await stop.wait()
    finally:
        server.close()
        await server.wait_closed()
        await asyncio.gather(*tasks, return_exceptions=True)  # the message in hand is finished
        if handle_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
        log.info("mail: stopped")
