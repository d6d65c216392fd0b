"""Errors the product raises. Each one carries a message meant to be read by a person (or a model) as it is."""

from __future__ import annotations


class RetentionLabError(Exception):
    """Base class: everything here is reported as one readable line, never a traceback."""


class InputFileError(RetentionLabError):
    """A policy, persona or fixture file is broken. The message names the file, the field and the fix."""

    def __init__(self, path: object, field: str, problem: str, fix: str = "") -> None:
        self.path, self.field, self.problem, self.fix = str(path), field, problem, fix
        text = f"{self.path}: {field}: {problem}" if field else f"{self.path}: {problem}"
        super().__init__(f"{text} ({fix})" if fix else text)


class BackendError(RetentionLabError):
    """A mocked Magento or Gorgias call failed. Tools turn it into an observation for the model."""

    kind = "error"


class RuleViolation(BackendError):
    """The request breaks a rule that the real system enforces (e.g. cancelling a shipped order)."""

    kind = "rule"


class OutOfScope(BackendError):
    """The request is about something that does not belong to the conversation's customer."""

    kind = "scope"


class NotFound(BackendError):
    kind = "not_found"


class TransientBackendError(BackendError):
    """An injected, retryable fault (timeouts, 503s) used to test resilience."""

    kind = "transient"


class ModelConfigError(RetentionLabError):
    """A model string cannot be turned into a usable chat model."""
