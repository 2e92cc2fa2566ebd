"""Switchboard: customer-support workflows where the code decides and models understand and write."""
