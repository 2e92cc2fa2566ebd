"""Retrieval evaluation: recall and MRR of the knowledge-base search on versioned questions."""
