"""One escaping step per report format, for every value that did not come from the project's own templates: policy
names and versions, persona ids, model replies quoted as evidence, error texts. Reports are hostile by design (an
attack suite writes them), so nothing in a value may become markup, a link, a remote image or a formula."""

from __future__ import annotations

import html

# links and images need brackets, raw HTML needs "<" (escaped as an entity), a table break needs "|"; emphasis and code
# spans are harmless, and escaping them would show backslashes inside the reports' own code spans
MARKDOWN_ACTIVE = str.maketrans({"|": "\\|", "[": "\\[", "]": "\\]"})
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def markdown_text(value: object) -> object:
    """A value shown literally in Markdown: no raw HTML, no table break, no link or image syntax."""
    if isinstance(value, str):
        return html.escape(value, quote=False).translate(MARKDOWN_ACTIVE)
    return value


def csv_cell(value: object) -> object:
    """A value a spreadsheet shows as text: a cell that would start a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
