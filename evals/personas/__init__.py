"""Scripted customers: the persona schema, its loader, and the deterministic simulator that plays them."""
