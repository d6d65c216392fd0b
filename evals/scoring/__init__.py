"""Scoring one conversation from its end state and tool trace: the outcome and the registered scorers."""
