"""A real HTTP receiver on loopback for webhook tests: records every delivery, can fail the first N."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tools.webhooks import EVENT_HEADER, SIGNATURE_HEADER, verify


@dataclass
class Sink:
    url: str
    secret: str
    fail_first: int = 0
    deliveries: list[dict[str, Any]] = field(default_factory=list)  # every POST, failed ones too
    lock: threading.Lock = field(default_factory=threading.Lock)

    def events(self) -> dict[str, dict[str, Any]]:
        """What a receiver keeps after deduping on the event id: id -> event (first copy)."""
        kept: dict[str, dict[str, Any]] = {}
        for delivery in self.deliveries:
            if delivery["accepted"]:
                kept.setdefault(delivery["event"]["id"], delivery["event"])
        return kept


@contextmanager
def webhook_sink(secret: str = "s3cret", *, fail_first: int = 0) -> Iterator[Sink]:
    sink = Sink(url="", secret=secret, fail_first=fail_first)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with sink.lock:
                accepted = len(sink.deliveries) >= sink.fail_first
                sink.deliveries.append(
                    {
                        "event": json.loads(body),
                        "signed": verify(body, self.headers.get(SIGNATURE_HEADER, ""), sink.secret),
                        "event_header": self.headers.get(EVENT_HEADER),
                        "accepted": accepted,
                    }
                )
            self.send_response(200 if accepted else 500)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    sink.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()
