"""Personal API tokens: how a secret looks, how it is checked, and what ends it.

A secret is `rrb_` and 43 URL-safe characters (256 random bits). Only its SHA-256 digest is
stored: a secret that random needs no salt nor a slow hash (those protect guessable passwords),
and a digest can be looked up by index in one query. The fixed tag lets secret scanners and
people recognise a leaked token; the first characters are kept to tell tokens apart in a list.

REST (api.authentication) and the WebSocket (api.socket_auth) both check a secret here, so that
both refuse the same secrets with the same messages.
"""

import hashlib
import re
import secrets
from datetime import timedelta

from django.db.models.signals import post_delete
from django.utils import timezone

from api.models import ApiToken
from realtime import notifications

TAG = "rrb_"
FORMAT = re.compile(rf"{TAG}[A-Za-z0-9_-]{{43}}")
PREFIX_LENGTH = 8
# `last_used_at` is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# Query parameters that would carry a token in a URL, where logs and proxies keep it: refused.
QUERY_PARAMETERS = ("access_token", "token")


class TokenError(Exception):
    """A secret that authenticates nobody; `detail` says why, to the client."""

    code = "authentication_failed"

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue(user, name: str, expires_at=None) -> tuple[ApiToken, str]:
    """A new token and its secret, which is not stored and cannot be shown again."""
    secret = TAG + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        digest=digest(secret),
        prefix=secret[:PREFIX_LENGTH],
        expires_at=expires_at,
    )
    return token, secret


def authenticate(secret: str) -> ApiToken:
    """The live token of `secret`, its user loaded and its use recorded, or TokenError."""
    if not FORMAT.fullmatch(secret):
        raise TokenError(f"Malformed token: an API token is {TAG} and 43 more characters.")
    token = ApiToken.objects.select_related("user").filter(digest=digest(secret)).first()
    if token is None:
        raise TokenError("Invalid token: it does not exist or was revoked.")
    now = timezone.now()
    if token.expires_at is not None and token.expires_at <= now:
        raise TokenError(f"Token expired at {token.expires_at.isoformat()}; create a new one.")
    if not token.user.is_active:
        raise TokenError("The token's user is inactive.")
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def in_query(parameters) -> bool:
    return any(name in parameters for name in QUERY_PARAMETERS)


QUERY_DETAIL = (
    "Tokens are not accepted in the URL, where logs keep them: send the header "
    "`Authorization: Bearer <token>`, or on the WebSocket the subprotocols `bearer, <token>`."
)


def on_token_delete(sender, instance, **kwargs) -> None:
    """A revoked token's sockets close with 4401 when the deletion commits."""
    notifications.close_group(
        notifications.user_group(instance.user_id),
        credential=notifications.token_credential(instance.pk),
    )


def connect() -> None:
    post_delete.connect(on_token_delete, sender=ApiToken, dispatch_uid="api.token_delete")
