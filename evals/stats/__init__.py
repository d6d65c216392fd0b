"""Statistics: per-policy summaries with intervals, paired tests, and the A/B comparison."""
