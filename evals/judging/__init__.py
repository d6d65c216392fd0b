"""The LLM judge of soft criteria (tone, empathy, ...), kept apart from the deterministic checks: it never changes
an outcome or an adherence score."""
