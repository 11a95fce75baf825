"""Sockets whose session no longer authenticates their user are closed, whatever ended it.

Logout, a session deleted in this process, and a user deactivated or deleted close their sockets
at once (`realtime.receivers`), and a socket closes itself when its session expires. Other ends
reach no receiver here: an expiry moved earlier in the database, a session deleted by another
process while the in-memory layer carries nothing between processes, a password change (which
ends the user's other sessions through the session auth hash). So each process (each event loop,
like `realtime.hub`) re-reads the sessions of its sockets every `SESSION_CHECK_INTERVAL` seconds,
all in one query, and closes with 4401 those that `django.contrib.auth.get_user` would no longer
authenticate over HTTP.

This reads sessions from the database (the `db` session engine, Django's default) and users the
way `ModelBackend` reads them; the system checks in `realtime.checks` refuse other engines and
backends.
"""

import asyncio
import logging
from importlib import import_module

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
    load_backend,
)
from django.db import DatabaseError
from django.db.models import BooleanField, CharField, Value
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from realtime.close_codes import CloseCode
from realtime.conf import realtime_setting
from realtime.loops import PerLoop

logger = logging.getLogger(__name__)


class SessionWatcher:
    """Runs while its loop has authenticated sockets, so that an idle process reads nothing."""

    def __init__(self):
        self.sockets: set = set()
        self._task: asyncio.Task | None = None

    def watch(self, socket) -> None:
        self.sockets.add(socket)
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    def forget(self, socket) -> None:
        self.sockets.discard(socket)

    async def _run(self) -> None:
        while self.sockets:
            await asyncio.sleep(realtime_setting("SESSION_CHECK_INTERVAL"))
            try:
                await self.check()
            except DatabaseError:
                # The sockets stay open, as they would with no check at all; the next pass
                # tries again.
                logger.exception(
                    "Could not re-check the sessions of %d socket(s)", len(self.sockets)
                )
        self._task = None

    async def check(self) -> None:
        """One pass: one query, whatever the number of sockets."""
        sockets = list(self.sockets)
        owners = {socket.scope["session"].session_key: socket.user_pk for socket in sockets}
        valid = await database_sync_to_async(authenticating)(owners)
        for socket in sockets:
            # A socket that left during the query is closed already.
            if socket.scope["session"].session_key not in valid and socket in self.sockets:
                await socket.close(CloseCode.LOGGED_OUT)


# The watcher of the running loop's sockets.
get_watcher: PerLoop[SessionWatcher] = PerLoop(SessionWatcher)


def authenticating(owners: dict) -> set[str]:
    """The keys among `owners` (session key: pk of the user its sockets were opened as) whose
    session still authenticates that user."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    user_model = get_user_model()
    sessions, users = {}, {}
    for table, key, secret, is_active in _read(store.get_model_class(), user_model, owners):
        if table == "session":
            sessions[key] = store.decode(secret)
        else:
            pk = user_model._meta.pk.to_python(key)
            users[pk] = user_model(pk=pk, password=secret, is_active=is_active)
    return {
        key for key, session in sessions.items() if authenticates(session, users.get(owners[key]))
    }


def _read(session_model, user_model, owners: dict):
    """The unexpired sessions among `owners` and their users, in one query: a union of
    `("session", key, session data, None)` rows and `("user", pk, password hash, is_active)` rows.
    """
    sessions = session_model.objects.filter(session_key__in=owners, expire_date__gt=timezone.now())
    users = user_model._default_manager.filter(pk__in=set(owners.values()))
    return sessions.values_list(
        Value("session"), "session_key", "session_data", Value(None, output_field=BooleanField())
    ).union(
        users.values_list(Value("user"), Cast("pk", CharField()), "password", "is_active"),
        all=True,
    )


def authenticates(session: dict, user) -> bool:
    """What `django.contrib.auth.get_user` checks of a session, for a user already read (None
    when deleted): the session names that user and a configured backend, the backend lets the
    user in, and the session's auth hash is the user's, for the secret key or one of its
    fallbacks (a request on such a session rotates it)."""
    backend_path = session.get(BACKEND_SESSION_KEY)
    session_hash = session.get(HASH_SESSION_KEY, "")
    return (
        user is not None
        and session.get(SESSION_KEY) == user._meta.pk.value_to_string(user)
        and backend_path in settings.AUTHENTICATION_BACKENDS
        and load_backend(backend_path).user_can_authenticate(user)
        and any(
            constant_time_compare(session_hash, user_hash)
            for user_hash in [user.get_session_auth_hash(), *user.get_session_auth_fallback_hash()]
        )
    )
