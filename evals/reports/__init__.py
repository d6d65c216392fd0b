"""Reports: HTML (self-contained, with charts), Markdown and CSV for runs and A/B comparisons."""
