"""The agent's tools: the offer kinds, the typed results, one toolkit class per world, and its LangChain wrapping."""
