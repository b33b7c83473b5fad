"""Credentials written into a URL (`http://user:pass@host`) never reach what composer stores.

A `base_url` may carry a user name and password for a proxy; the adapter needs them, but the
run store, the reports and the error texts keep the URL without them (`http://***@host`).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

_IN_TEXT = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/?#@\s\"']+@")
"""`scheme://userinfo@` anywhere in a text."""


def without_credentials(url: str) -> str:
    """`url` with any user name and password replaced by `***`.

    Example:
        >>> without_credentials("http://user:pass@proxy:8080/v1")
        'http://***@proxy:8080/v1'
        >>> without_credentials("https://api.openai.com/v1")
        'https://api.openai.com/v1'
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return _IN_TEXT.sub(r"\g<scheme>***@", url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]))


def scrub_credentials(value: Any) -> Any:
    """`value` (JSON-like: dicts, lists, text) with the credentials of every URL in it removed.

    Example:
        >>> scrub_credentials({"base_url": "http://u:p@h/v1", "n": [1, "ftp://a@b"]})
        {'base_url': 'http://***@h/v1', 'n': [1, 'ftp://***@b']}
    """
    if isinstance(value, str):
        return _IN_TEXT.sub(r"\g<scheme>***@", value) if "@" in value else value
    if isinstance(value, dict):
        return {k: scrub_credentials(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_credentials(v) for v in value]
    return value
