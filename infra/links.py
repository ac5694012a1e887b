"""Signed, expiring download links: `<base>/<path>?expires=<unix time>&sig=<HMAC>`.

The signature covers what is downloaded (its subject: "document:12", "certificate:<serial>") and
the expiry, with the deployment's secret: a link cannot be altered to reach another file or to
live longer, and it works on every API replica.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import timedelta

from infra.clock import now

VALID_FOR = timedelta(hours=1)
# ASCII digits only: str.isdigit() also takes "²", which int() refuses
_EXPIRES = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"[0-9a-f]{64}")


def _signature(secret: str, subject: str, expires: int) -> str:
    return hmac.new(secret.encode(), f"{subject}:{expires}".encode(), hashlib.sha256).hexdigest()


def signed_url(base_url: str, secret: str, path: str, subject: str) -> str:
    expires = int((now() + VALID_FOR).timestamp())
    signature = _signature(secret, subject, expires)
    return f"{base_url.rstrip('/')}/{path}?expires={expires}&sig={signature}"


def is_valid(secret: str, subject: str, expires: str, signature: str) -> bool:
    """The link's own parameters, as `signed_url` wrote them: anything else is refused."""
    if not _EXPIRES.fullmatch(expires) or not _SIGNATURE.fullmatch(signature):
        return False
    if int(expires) < now().timestamp():
        return False
    return hmac.compare_digest(_signature(secret, subject, int(expires)), signature)
