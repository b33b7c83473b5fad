"""The error hierarchy: every message reads *where: what (the value). How to fix.*."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError


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


class DamagedRunError(ConfigError):
    """A run folder whose store or image folder is damaged: every command stops with exit 2.

    The message says what is damaged and what the user can do; nothing is written into the
    folder.
    """


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


_SECRET = re.compile(r"key|token|secret|password|credential", re.IGNORECASE)
"""A location whose value may be a secret: its value is never echoed in an error."""
_VALIDATOR_TAG = re.compile(r"function-(after|before|wrap|plain)\[.*\]")
"""A pydantic validator's own step in an error location (not a field the user wrote)."""


def shown_argument(value: object) -> str:
    """A wrong argument as an error shows it: its type, and the start of its repr.

    Example:
        >>> shown_argument(["a", "b"])
        "list ['a', 'b']"
    """
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


def config_error(
    where: str,
    exc: ValidationError,
    fix: str = "",
    *,
    noun: str = "",
    error: type[ConfigError] = ConfigError,
) -> ConfigError:
    """The first problem pydantic found, as one configuration error of class `error`.

    Every validated input (run file, model options, strategy options, benchmark records) reads
    the same way: the failing field's location, dotted (a list item as `items[0]`), is appended
    to `where`, after `noun` (what the location names: "key", "option", "field") when given;
    pydantic's message is the what, with the value it got unless that is a whole table or
    missing; `fix` says how to fix it. A problem with no field (a check across fields) is
    placed at `where` alone.

    Example (with `steps = "4"` in the table, this reads `[models."m"] steps: Input should be
    a valid integer (got '4'). Fix or remove that option.`):

        try:
            options = Options.model_validate(table)
        except ValidationError as exc:
            raise config_error('[models."m"]', exc, "Fix or remove that option.") from None
    """
    first = exc.errors()[0]
    location = ""
    for part in first["loc"]:
        if isinstance(part, int):
            location += f"[{part}]"
        elif not _VALIDATOR_TAG.fullmatch(part):
            location += f".{part}" if location else part
    if location:
        where = " ".join(filter(None, (where, noun, location)))
    what = str(first["msg"]).removeprefix("Value error, ")
    value = first.get("input")
    if first["type"] == "extra_forbidden":
        # The value of a setting composer does not know is not the problem, and may be a
        # secret written in the wrong place (`api_key = "sk-..."`): it is never echoed.
        what = "is not a known setting"
    elif _SECRET.search(location):
        what += " (value not shown)"
    elif first["type"] != "missing" and not isinstance(value, Mapping):
        what += f" (got {value!r})"
    return error(where, f"{what}.", fix)
