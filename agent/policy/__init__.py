"""Policies: parsing markdown with front matter, `#policy` references, the offer plan, compilation and the linter."""
