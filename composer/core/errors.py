"""The error hierarchy: every message reads *where: what (the value). How to fix.*."""

from __future__ import annotations


class ComposerError(Exception):
    """Base of every error composer raises on purpose.

    The CLI prints the message of a `ComposerError` alone (no traceback) and exits with
    `exit_code`.
    """

    exit_code = 1

    def __init__(self, where: str, what: str, fix: str = "") -> None:
        """Build a message from its three parts."""
        self.where = where
        self.what = what
        self.fix = fix
        message = f"{where}: {what}"
        if fix:
            message += f" {fix}"
        super().__init__(message)


class ConfigError(ComposerError):
    """A run configuration that cannot work; raised before the first model call."""

    exit_code = 2


class UnknownNameError(ConfigError):
    """A graph, provider, benchmark or category name that nothing is registered under."""


class DataError(ConfigError):
    """A benchmark record or file that does not have the expected shape."""


class PrerequisiteError(ConfigError):
    """A missing extra, key or weights file that a configured model needs."""


class StoreWriteError(ComposerError):
    """The run store could not be written (a full disk, a read-only folder): the run stops.

    What was committed before stays intact, so the same command resumes once the cause is fixed.
    """


class SpecialistError(ComposerError):
    """A model call that failed; `is_retryable` says whether the call layer may try again.

    Attributes:
        retry_after: Seconds the server asked us to wait (HTTP Retry-After), if any.
        is_rate_limit: True for a 429, which also shrinks the endpoint's concurrency.
    """

    def __init__(
        self,
        where: str,
        what: str,
        fix: str = "",
        *,
        is_retryable: bool = False,
        is_rate_limit: bool = False,
        retry_after: float | None = None,
        request_id: str | None = None,
    ) -> None:
        """Build the error; see the class attributes for the keyword arguments."""
        super().__init__(where, what, fix)
        self.is_retryable = is_retryable or is_rate_limit
        self.is_rate_limit = is_rate_limit
        self.retry_after = retry_after
        self.request_id = request_id


class EmptyReplyError(SpecialistError):
    """A model answered with nothing (no text, no image): retried, never cached as an answer.

    Still empty after the call layer's attempts, the call fails, and so does its task; a rerun
    with `--retry-failed` asks again.
    """


class RefusalError(SpecialistError):
    """The model declined the request (content policy, safety block): a `refused` status."""


class AgentOutputError(ComposerError):
    """An agent could not parse a model's reply; `raw` keeps the reply text."""

    def __init__(self, agent: str, what: str, raw: str) -> None:
        """Keep the agent name and the raw reply for the run store."""
        super().__init__(f"agent '{agent}'", what, f"Raw reply: {raw[:200]!r}")
        self.raw = raw
