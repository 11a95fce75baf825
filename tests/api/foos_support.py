"""What the Foo endpoint's tests share: its URLs, its representation, its error bodies."""

from api import hashids
from api.models import Foo, User

NOT_FOUND = {"detail": "No Foo matches the given query."}
NOT_LOGGED_IN = {"detail": "Authentication credentials were not provided."}
STALE = {"detail": "The object has changed since you read it; fetch it again."}


def detail_url(foo) -> str:
    return f"/api/foo/{hashids.encode(Foo, foo.pk)}"


def representation(foo) -> dict:
    foo.refresh_from_db()
    return {
        "id": hashids.encode(Foo, foo.pk),
        "bar": foo.bar,
        "owner": hashids.encode(User, foo.owner_id),
        "created_at": foo.created_at.isoformat().replace("+00:00", "Z"),
        "updated_at": foo.updated_at.isoformat().replace("+00:00", "Z"),
        "version": foo.version,
    }
