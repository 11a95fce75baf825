"""Who opens a WebSocket: an API token offered as subprotocols, or the session cookie.

A client that cannot use the cookie sends its token as the two subprotocols `bearer` and the
token (`Sec-WebSocket-Protocol: bearer, rrb_...`; in a browser `new WebSocket(url, ["bearer",
token])`), and the server picks `bearer`, never echoing the token. Headers stay out of URLs and
access logs, and the token is checked before the socket opens, with no deadline to enforce.

A token socket skips the Origin check and ignores any cookie. The check stops a page elsewhere
from riding the cookie that a browser attaches on its own; a token is sent only by code that
holds it, from wherever it runs (a script sends no Origin at all). A socket that offers no
subprotocol goes through the Origin check and the session cookie, as before.

Refused, each with an ERROR event (`authentication_failed`, its `detail` saying why) and then
close code 4401: a malformed, unknown, revoked or expired token, a token of an inactive user,
any other subprotocols than the `bearer` pair, and a token in the query string (never accepted
there, whatever else the socket offers).
"""

from urllib.parse import parse_qs

from api import tokens
from realtime import errors
from realtime.database import database_sync_to_async

SUBPROTOCOL = "bearer"


class TokenAuthentication:
    """A token offered as the subprotocols `bearer` and the token. A socket that offers no
    subprotocol is left to the next authentication class (the session cookie)."""

    # Picked at the handshake, for a socket authenticated or refused here.
    subprotocol = SUBPROTOCOL

    async def authenticate(self, scope) -> dict | None:
        """The scope's `user` and `token`; None if the socket offers no subprotocol. Raises
        AuthenticationFailed, saying why, for any other offer or a token refused."""
        try:
            token = await offered_token(scope)
        except tokens.TokenError as error:
            raise errors.AuthenticationFailed(error.detail) from None
        if token is None:
            return None
        return {"user": token.user, "token": token}


async def offered_token(scope):
    """The live token the socket offers, None if it offers no subprotocol, or TokenError."""
    if tokens.in_query(parse_qs(scope["query_string"].decode("latin-1"))):
        raise tokens.TokenError(tokens.QUERY_DETAIL)
    offered = scope.get("subprotocols") or []
    if not offered:
        return None
    if len(offered) != 2 or offered[0] != SUBPROTOCOL:
        raise tokens.TokenError(
            f"Unsupported subprotocols: offer exactly {SUBPROTOCOL!r} and the token, or none "
            "to use the session cookie."
        )
    return await database_sync_to_async(tokens.authenticate)(offered[1])
