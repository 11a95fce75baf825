"""Fills the bench database with the benchmark's world and prints it as JSON.

Run in the server's environment (DATABASE_URL, HASHIDS_SALT: the hashids depend on it); it
migrates the database first:

    python -m bench.seed --watchers 1000 --foos 10 --sessions 2 > world.json

The world: `owner` (one Foo, the fan-out and latency object), `star` (the watched user), and
`watchers`, each with `foos` Foos and `sessions` logged-in sessions. The owner and the star log in
over REST during the run; the watchers' sessions are written here as `login()` would write them,
since a thousand password hashes (PBKDF2, ~0.3 s each) would dominate the run without measuring
anything the benchmark is about.
"""

import argparse
import json
import os
import sys
from datetime import timedelta

PASSWORD = "bench-password-not-secret"


def seed(watchers: int, foos: int, sessions: int, fresh: bool = False) -> dict:
    from django.core.management import call_command
    from django.db import transaction

    from api import hashids
    from api.models import Foo, User

    call_command("migrate", interactive=False, verbosity=0)
    if not fresh:
        # Truncates every table without signals: no events for a world being rebuilt.
        call_command("flush", interactive=False, verbosity=0)
    names = ["bench_owner", "bench_star"] + [f"w{index:05d}" for index in range(watchers)]
    with transaction.atomic():
        users = create_users(names)
        owner, star, *crowd = users
        foos_of = create_foos(owner, crowd, foos)
        sessions_of = create_sessions(users, sessions)

    def describe(user) -> dict:
        return {
            "username": user.username,
            "id": hashids.encode(User, user.pk),
            "sessions": sessions_of[user.pk],
            "foos": [hashids.encode(Foo, pk) for pk in foos_of.get(user.pk, [])],
        }

    return {
        "password": PASSWORD,
        "owner": describe(owner),
        "star": describe(star),
        "watchers": [describe(user) for user in crowd],
    }


def create_users(names: list[str]) -> list:
    """The users, in the order of `names`, all with PASSWORD (hashed once: one hash, shared)."""
    from django.contrib.auth.hashers import make_password

    from api.models import User

    password = make_password(PASSWORD)
    User.objects.bulk_create(
        User(username=name, email=f"{name}@example.com", password=password, first_name=name)
        for name in names
    )
    users = {user.username: user for user in User.objects.filter(username__in=names)}
    return [users[name] for name in names]


def create_foos(owner, crowd: list, foos: int) -> dict[int, list[int]]:
    """The fan-out Foo of `owner`, and `foos` Foos for each of the crowd: their pks by owner."""
    from api.models import Foo

    Foo.objects.bulk_create(
        [Foo(bar="fan-out", owner=owner)]
        + [
            Foo(bar=f"{user.username}-{index}", owner=user)
            for user in crowd
            for index in range(foos)
        ]
    )
    foos_of: dict[int, list[int]] = {}
    for pk, owner_id in Foo.objects.order_by("pk").values_list("pk", "owner_id"):
        foos_of.setdefault(owner_id, []).append(pk)
    return foos_of


def create_sessions(users: list, sessions: int) -> dict[int, list[str]]:
    """`sessions` logged-in sessions for each user, written as `login()` writes them: their
    keys by user pk."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.models import Session
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    expires = timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE)

    def session_for(user) -> Session:
        store = store_class()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.set_expiry(expires)
        return Session(
            session_key=get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789"),
            session_data=store.encode(dict(store.items())),
            expire_date=expires,
        )

    rows = {user.pk: [session_for(user) for _ in range(sessions)] for user in users}
    Session.objects.bulk_create(row for user_rows in rows.values() for row in user_rows)
    return {pk: [row.session_key for row in user_rows] for pk, user_rows in rows.items()}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--watchers", type=int, required=True)
    parser.add_argument("--foos", type=int, default=10, help="Foos per watcher")
    parser.add_argument("--sessions", type=int, default=2, help="sessions per user")
    parser.add_argument("--fresh", action="store_true", help="the database is new: skip the flush")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    import django

    django.setup()
    json.dump(seed(args.watchers, args.foos, args.sessions, args.fresh), sys.stdout)


if __name__ == "__main__":
    main()
