"""Scripted customers: the persona loader, the deterministic simulator that plays a contract, and the LLM voice
(the contract's schema is in `evals.schema.persona`)."""
