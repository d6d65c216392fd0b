"""The offline reference model: a deterministic chat model that follows a policy's offer plan (not an LLM)."""
