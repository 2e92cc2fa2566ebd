"""Read-only questions the workflow asks the store outside a tool call.

The output screen (`nodes/guards/output.py`) must know, before a reply goes out, whose
names, email addresses and order numbers it mentions. It asks here, in one named place,
instead of querying tables itself; everything else a node reads goes through a tool.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine, func, select

from store.schema import customers, orders


@dataclass
class Identifiers:
    """What the store says about the identifiers a text mentions (all lower case)."""

    own_name: str = ""
    own_email: str = ""
    own_phone: str = ""
    order_owner: dict[int, str] = field(default_factory=dict)
    other_names: set[str] = field(default_factory=set)
    other_emails: set[str] = field(default_factory=set)


def identifiers(
    engine: Engine, customer_id: str, *, names: Sequence[str], emails: Sequence[str], order_ids: Sequence[int]
) -> Identifiers:
    """The customer's own contact details, the owners of ``order_ids``, and which of ``names`` /
    ``emails`` belong to other customers."""
    known = Identifiers()
    with engine.connect() as conn:
        me = conn.execute(
            select(customers.c.name, customers.c.email, customers.c.phone).where(customers.c.id == customer_id)
        ).first()
        if me is not None:
            known.own_name, known.own_email, known.own_phone = me.name.lower(), me.email.lower(), me.phone
        if order_ids:
            rows = conn.execute(select(orders.c.id, orders.c.customer_id).where(orders.c.id.in_(order_ids))).all()
            known.order_owner = {int(r.id): str(r.customer_id) for r in rows}
        if names or emails:
            rows = conn.execute(
                select(func.lower(customers.c.name), func.lower(customers.c.email))
                .where(customers.c.id != customer_id)
                .where(
                    func.lower(customers.c.name).in_(names or [""]) | func.lower(customers.c.email).in_(emails or [""])
                )
            ).all()
            known.other_names = {r[0] for r in rows if r[0] in names and r[0] != known.own_name}
            known.other_emails = {r[1] for r in rows if r[1] in emails}
    return known
