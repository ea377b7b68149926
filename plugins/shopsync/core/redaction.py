"""Secrets out of text: passwords in URLs (user part or query string) and `password=` settings become ***.

Standard library only, so that alerts, the CLI and the database module share one rule. Over-hiding is
preferred to a leak: a password with an unencoded `@` is hidden up to the last `@` before the query
(what SQLAlchemy and libpq would wrongly take for the host is not shown either).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote

HIDDEN = "***"
URL_IN_TEXT = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)(?P<rest>[^\s'\"<>`]*)")
PASSWORD_SETTING = re.compile(r"(?P<key>\b\w*password\w*\s*=\s*)(?P<value>'(?:[^'\\]|\\.)*'|[^\s&;,)]+)",
                              re.IGNORECASE)


def hide_url_password(rest: str) -> str:
    """The part of a URL after `scheme://` with the password of its user part replaced by ***."""
    first_at = rest.find("@")
    if first_at < 0:
        return rest
    query = rest.find("?", first_at)
    last_at = rest.rfind("@", 0, query if query >= 0 else len(rest))
    user, colon, _ = rest[:last_at].partition(":")
    return f"{user}:{HIDDEN}{rest[last_at:]}" if colon else rest


def redact_url(url: str) -> str:
    """A whole URL (or anything given as one) safe to show: user password and password= settings hidden."""
    scheme, separator, rest = url.partition("://")
    text = f"{scheme}{separator}{hide_url_password(rest)}" if separator else url
    return PASSWORD_SETTING.sub(rf"\g<key>{HIDDEN}", text)


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Free text safe to show: the given secrets (as written and URL-encoded), URL passwords and
    `password=` settings replaced by ***."""
    for secret in secret_variants(secrets):
        text = text.replace(secret, HIDDEN)
    text = URL_IN_TEXT.sub(lambda match: match["scheme"] + hide_url_password(match["rest"]), text)
    return PASSWORD_SETTING.sub(rf"\g<key>{HIDDEN}", text)


def secret_variants(secrets: Iterable[str]) -> list[str]:
    """Each secret as written and URL-encoded, longest first (so no part of one survives)."""
    variants = {variant for secret in secrets if secret for variant in (secret, quote(secret, safe=""))}
    return sorted(variants, key=len, reverse=True)
