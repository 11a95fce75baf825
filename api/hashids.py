"""Public ids: a model's primary key, encoded with a salt of its own.

Each model's salt is derived from `HASHIDS_SALT` and the model's label, so Foo 1 and User 1 have
different ids, and an id of one model never decodes to the same key in another (it is refused, or
names some other key).

Hashids reads only the start of a salt: it shuffles its alphabet of 48 characters with the first
47, each number with the first 42, and ignores the rest. Appending the label to the base salt
(`f"{base}:{label}"`) therefore lost the label behind a long base: from 40 characters on,
`api.Foo` and `api.User` had the same ids (and a 50-character secret was the default base).
The per-model salt is instead the hex HMAC-SHA256 of the label keyed with the base: each of its
64 characters depends on the whole of both, so the part hashids reads differs between models
whatever the base's length, and the salt reveals nothing of the base.
"""

import hashlib
import hmac
from functools import cache

from django.conf import settings
from hashids import Hashids

MIN_LENGTH = 8


@cache
def _codec(base_salt: str, label: str) -> Hashids:
    salt = hmac.new(base_salt.encode(), label.encode(), hashlib.sha256).hexdigest()
    return Hashids(salt=salt, min_length=MIN_LENGTH)


def codec(model) -> Hashids:
    """The model's Hashids, under the current `HASHIDS_SALT`."""
    return _codec(settings.HASHIDS_SALT, model._meta.label)


def encode(model, pk: int) -> str:
    return codec(model).encode(pk)


def decode(model, hashid) -> int | None:
    """The primary key behind `hashid`, or None for anything that is not one of this model's ids."""
    if not isinstance(hashid, str):
        return None
    # Hashids only decodes the exact spelling it hands out; one of several numbers is not an id.
    decoded = codec(model).decode(hashid)
    return decoded[0] if len(decoded) == 1 else None
