"""Who opens a socket with the session cookie: its user, read with the session in one thread hop.

`SessionAuthentication` adds to a socket's scope what Channels' `AuthMiddlewareStack` adds, as
one of the consumer's authentication classes (`realtime.consumers`).

Channels' `AuthMiddlewareStack` reads the session, then the user, in one hop, and the consumer
made another for the session's expiry. Every hop waits its turn on the one thread that runs sync
code, behind whatever else is queued there (in a reconnect storm, the other sockets' snapshot
reads), and a handshake not accepted within Daphne's timeout is dropped. This reads all three
in one hop, and a socket without a session key makes none.

A socket is its session's user when `django.contrib.auth.get_user` would authenticate the same
session over HTTP, by the rule the process's session watcher applies for as long as the socket
is open (`realtime.sessions.authenticates`): an unexpired session, naming a configured backend
that lets its user in (an inactive user is not), with the user's session auth hash for the
secret key or one of its fallbacks. Anyone else is anonymous. Unlike HTTP, a socket writes no
session, having no response to set its cookie in: the next HTTP request rotates a fallback hash,
and flushes a session that no longer verifies.
"""

from importlib import import_module
from urllib.parse import urlparse

from channels.exceptions import DenyConnection
from channels.security.websocket import AllowedHostsOriginValidator
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, SESSION_KEY, get_user_model, load_backend
from django.contrib.auth.models import AnonymousUser
from django.http import parse_cookie

from realtime.database import database_sync_to_async
from realtime.sessions import authenticates


class SessionAuthentication:
    """The session cookie, for a socket from a page of this site: Channels' Origin check against
    ALLOWED_HOSTS comes first, or a page elsewhere could ride the cookies that its visitor's
    browser attaches on its own."""

    # Picked at the handshake: none.
    subprotocol = None

    async def authenticate(self, scope) -> dict:
        """The scope's `session` (not loaded), its `user` (AnonymousUser if the session
        authenticates nobody) and `session_expiry` (when the session ends, None for an
        anonymous socket). Raises DenyConnection for a page elsewhere: the handshake is refused
        (HTTP 403)."""
        if not AllowedHostsOriginValidator(None).valid_origin(origin(scope)):
            raise DenyConnection
        store = import_module(settings.SESSION_ENGINE).SessionStore
        session = store(cookies(scope).get(settings.SESSION_COOKIE_NAME))
        user, expiry = AnonymousUser(), None
        # The store refuses a malformed key: no session, nothing to read.
        if session.session_key is not None:
            user, expiry = await database_sync_to_async(authenticate)(session)
            # The socket keeps the key, not the decoded data (half a KiB of every idle socket):
            # what it needs later is re-read by the process's session watcher.
            session = store(session.session_key)
        return {"session": session, "user": user, "session_expiry": expiry}


def origin(scope):
    """The handshake's Origin, parsed as Channels' validator parses it; None if it sends none,
    or one that does not parse."""
    for name, value in scope["headers"]:
        if name == b"origin":
            try:
                return urlparse(value.decode("latin-1"))
            except ValueError:
                return None
    return None


def cookies(scope) -> dict[str, str]:
    """The cookies of the handshake's first Cookie header, as Channels' CookieMiddleware reads
    them."""
    for name, value in scope["headers"]:
        if name == b"cookie":
            return parse_cookie(value.decode("latin-1"))
    return {}


def authenticate(session) -> tuple:
    """The user `session` authenticates and when the session expires, or (AnonymousUser, None):
    the session's query, and the user's when it names one."""
    try:
        pk = get_user_model()._meta.pk.to_python(session[SESSION_KEY])
        backend_path = session[BACKEND_SESSION_KEY]
    except KeyError:
        return AnonymousUser(), None
    user = None
    if backend_path in settings.AUTHENTICATION_BACKENDS:
        user = load_backend(backend_path).get_user(pk)
    if not authenticates(session, user):
        return AnonymousUser(), None
    return user, session.get_expiry_date()
