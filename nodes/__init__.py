"""Nodes decide: each module holds one step of the support workflow."""
