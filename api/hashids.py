"""Public ids: a model's primary key, encoded with a salt of its own.

The salt includes the model's label, so Foo 1 and User 1 have different ids, and an id of one
model does not decode to the same key in another (it is refused, or names some other key).
"""

from functools import cache

from django.conf import settings
from hashids import Hashids

MIN_LENGTH = 8


@cache
def _codec(label: str) -> Hashids:
    return Hashids(salt=f"{settings.HASHIDS_SALT}:{label}", min_length=MIN_LENGTH)


def encode(model, pk: int) -> str:
    return _codec(model._meta.label).encode(pk)


def decode(model, hashid) -> int | None:
    """The primary key behind `hashid`, or None for anything that is not one of this model's ids."""
    if not isinstance(hashid, str):
        return None
    # Hashids only decodes the exact spelling it hands out; one of several numbers is not an id.
    decoded = _codec(model._meta.label).decode(hashid)
    return decoded[0] if len(decoded) == 1 else None
