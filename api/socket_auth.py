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
from realtime.close_codes import CloseCode
from realtime.consumers import NotificationsConsumer
from realtime.database import database_sync_to_async

SUBPROTOCOL = "bearer"


class TokenOrSessionAuth:
    """Sends a socket that offers a token to `token_app`, as the token's user; any other to
    `session_app` (the Origin check and the session cookie); a refused one to `Refusal`."""

    def __init__(self, token_app, session_app):
        self.token_app = token_app
        self.session_app = session_app
        self.refusal_app = Refusal.as_asgi()

    async def __call__(self, scope, receive, send):
        try:
            token = await offered_token(scope)
        except tokens.TokenError as error:
            scope = {**scope, "auth_error": errors.AuthenticationFailed(error.detail)}
            return await self.refusal_app(scope, receive, send)
        if token is None:
            return await self.session_app(scope, receive, send)

        async def send_picking_bearer(message):
            if message["type"] == "websocket.accept":
                message = {**message, "subprotocol": SUBPROTOCOL}
            await send(message)

        scope = {**scope, "user": token.user, "token": token}
        return await self.token_app(scope, receive, send_picking_bearer)


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


class Refusal(NotificationsConsumer):
    """Opens the socket only to say why its credentials were refused, then closes it (4401)."""

    async def connect(self):
        self.hub = None
        # A client that offered subprotocols fails a handshake that picks none (browsers do),
        # and would never read the reason: pick `bearer` when offered, never anything else.
        offered = self.scope.get("subprotocols") or []
        await self.accept(SUBPROTOCOL if SUBPROTOCOL in offered else None)
        await self.send_error(self.scope["auth_error"], None)
        await self.close(CloseCode.LOGGED_OUT)
