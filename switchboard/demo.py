"""`make demo`: a short, real conversation for a seeded customer, on the configured model."""

from __future__ import annotations

from rich.console import Console
from sqlalchemy import select

from core.context import Context
from core.settings import get_settings
from store.schema import orders
from switchboard.app import new_thread_id, open_graph, run_turn


def demo_orders(ctx: Context) -> tuple[int, int]:
    """The demo customer's shipped order and delivered order (looked up, not hard-coded)."""
    with ctx.resources.engine.connect() as conn:
        rows = conn.execute(
            select(orders.c.id, orders.c.status, orders.c.total_cents)
            .where(orders.c.customer_id == ctx.customer_id)
            .order_by(orders.c.placed_at.desc())
        ).all()
    shipped = next(r.id for r in rows if r.status == "shipped")
    # A second demo finds the order already refunded by the first one, and says so: nothing is done twice.
    delivered = min(r.id for r in rows if r.status in ("delivered", "refunded") and r.total_cents <= 50000)
    return shipped, delivered


def run_demo(console: Console) -> None:
    from store.seed import DEMO_CUSTOMER_ID

    settings = get_settings()
    ctx = Context(customer_id=DEMO_CUSTOMER_ID)
    shipped, delivered = demo_orders(ctx)
    thread_id = new_thread_id()
    script = [
        f"Hi, where is my order {shipped}?",
        "How long do I have to return something?",
        f"I want a refund for order {delivered}, it arrived broken.",
    ]
    console.print(f"[dim]customer {ctx.customer_id} · model {ctx.settings.model} · thread {thread_id}[/dim]")
    with open_graph(settings) as graph:
        for message in script:
            console.print(f"\n[bold cyan]customer ›[/bold cyan] {message}")
            result = run_turn(graph, ctx, message, thread_id)
            calls = ", ".join(f"{c['name']}:{c['outcome']}" for c in result["tool_calls"]) or "none"
            console.print(f"[bold green]{result['department'] or 'switchboard'} ›[/bold green] {result['reply']}")
            console.print(
                f"[dim]  intent {result['intent']} ({result['confidence']:.2f}) · status {result['status']}"
                f" · tools {calls} · sources {', '.join(result['citations']) or '-'}[/dim]"
            )
