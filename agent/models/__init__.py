"""Chat models: one model string picks the provider (`settings`); `offline/` is the deterministic reference model."""
