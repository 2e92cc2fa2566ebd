"""Nodes decide: the steps of the support graph and what only they use (desks, policy, guards,
prompts, memory). See nodes/README.md for the map."""
