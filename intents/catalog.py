"""The 27 Bitext intents and the department that owns each one.

The map is policy, not a model output: the classifier only names the intent,
this table decides who handles it.
"""

from __future__ import annotations

from typing import Final, Literal

Department = Literal["billing", "technical", "general", "escalation"]
DEPARTMENTS: Final[tuple[Department, ...]] = ("billing", "technical", "general", "escalation")

INTENT_DEPARTMENT: Final[dict[str, Department]] = {
    # money: invoices, payments, refunds, cancellation fees
    "check_invoice": "billing",
    "get_invoice": "billing",
    "check_payment_methods": "billing",
    "payment_issue": "billing",
    "check_refund_policy": "billing",
    "get_refund": "billing",
    "track_refund": "billing",
    "check_cancellation_fee": "billing",
    # the account and the site
    "create_account": "technical",
    "delete_account": "technical",
    "edit_account": "technical",
    "recover_password": "technical",
    "registration_problems": "technical",
    "switch_account": "technical",
    # orders, delivery, addresses, feedback, newsletter
    "cancel_order": "general",
    "change_order": "general",
    "place_order": "general",
    "track_order": "general",
    "delivery_options": "general",
    "delivery_period": "general",
    "change_shipping_address": "general",
    "set_up_shipping_address": "general",
    "newsletter_subscription": "general",
    "review": "general",
    "contact_customer_service": "general",
    # a person is asked for, or the customer is unhappy: a human takes it
    "contact_human_agent": "escalation",
    "complaint": "escalation",
}

INTENTS: Final[tuple[str, ...]] = tuple(sorted(INTENT_DEPARTMENT))


def department_for(intent: str) -> Department:
    """The department that owns an intent; unknown intents go to a person."""
    return INTENT_DEPARTMENT.get(intent, "escalation")
