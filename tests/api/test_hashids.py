import itertools

import pytest
from django.db.models import Model

from api import hashids
from api.models import Foo, User
from realtime import registry
from tests.conftest import make_user
from tests.support import salt_of_length

NOT_FOUND = {"detail": "Not found."}

# Every model with public ids: the realtime registry requires an `id` of each.
PUBLIC_MODELS = [registry.get(label) for label in registry.labels()]
KEYS = range(1, 1000)


def label_of(model) -> str:
    return model._meta.label


def walk(value, key=None):
    """Every (key, scalar) pair in a JSON document."""
    if isinstance(value, dict):
        for name, item in value.items():
            yield from walk(item, name)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item, key)
    else:
        yield key, value


# The codec


@pytest.fixture(params=[5, 50, 200], ids=lambda length: f"{length}-character salt")
def base_salt(request, settings):
    """HASHIDS_SALT shorter and longer than the part of a salt hashids reads (42 characters)."""
    settings.HASHIDS_SALT = salt_of_length(request.param)


@pytest.mark.parametrize("model", PUBLIC_MODELS, ids=label_of)
def test_an_id_decodes_to_its_key(base_salt, model):
    for pk in KEYS:
        assert hashids.decode(model, hashids.encode(model, pk)) == pk


def test_ids_are_at_least_eight_characters():
    assert len(hashids.encode(Foo, 1)) >= hashids.MIN_LENGTH


@pytest.mark.parametrize(
    ("model", "other"), list(itertools.combinations(PUBLIC_MODELS, 2)), ids=label_of
)
def test_the_same_key_has_a_different_id_in_each_model(base_salt, model, other):
    for pk in KEYS:
        assert hashids.encode(model, pk) != hashids.encode(other, pk)


@pytest.mark.parametrize(
    ("encoded", "decoded"), list(itertools.permutations(PUBLIC_MODELS, 2)), ids=label_of
)
def test_an_id_never_decodes_to_the_same_key_in_another_model(base_salt, encoded, decoded):
    for pk in KEYS:
        assert hashids.decode(decoded, hashids.encode(encoded, pk)) != pk


def test_every_character_of_a_long_salt_changes_the_ids(settings):
    settings.HASHIDS_SALT = salt_of_length(200)
    before = hashids.encode(Foo, 1)
    settings.HASHIDS_SALT = salt_of_length(199) + "!"

    assert hashids.encode(Foo, 1) != before


@pytest.mark.parametrize("hashid", [None, 1, ["x"], "", "!!!!!!!!", "0"])
def test_anything_but_an_id_decodes_to_none(hashid):
    assert hashids.decode(Foo, hashid) is None


def test_an_id_of_several_numbers_decodes_to_none():
    # Bad input: a valid spelling under Foo's salt, but of the keys (1, 2).
    assert hashids.decode(Foo, hashids.codec(Foo).encode(1, 2)) is None


# Ids in URLs


def foo_path(foo_or_id) -> str:
    if isinstance(foo_or_id, Model):
        return f"/api/foo/{hashids.encode(Foo, foo_or_id.pk)}"
    return f"/api/foo/{foo_or_id}"


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_a_raw_primary_key_in_the_url_is_404(api, foo, method):
    response = getattr(api, method)(foo_path(foo.pk), {"bar": "x"}, format="json")

    foo.refresh_from_db()
    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    assert foo.bar == "first"


@pytest.mark.parametrize(
    "bad_id", ["x", "a.b", "..", "%20", "abc%00def", "ä" * 8, "x" * 5000, "-1", "1e3"]
)
def test_a_malformed_id_in_the_url_is_a_json_404(api, foo, bad_id):
    response = api.get(foo_path(bad_id))

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_the_user_id_of_the_same_key_is_404_at_a_foo_url(production_length_salt, api, user):
    make_user("carol", id=51)
    Foo.objects.create(id=51, bar="same key", owner=user)

    response = api.get(f"/api/foo/{hashids.encode(User, 51)}")

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_an_id_of_a_key_beyond_the_database_range_is_404(api, foo):
    response = api.get(foo_path(hashids.encode(Foo, 2**70)))

    assert response.status_code == 404
    assert response.json() == {"detail": "No Foo matches the given query."}


# No raw keys out


def test_no_response_contains_a_raw_database_key(api, user):
    # Keys far from any other number in the responses, so that a leaked one cannot hide.
    other_user = make_user("dave", id=7_654_321)
    foo = Foo.objects.create(id=8_765_432, bar="first", owner=user)
    responses = [
        api.post("/api/foo", {"bar": "second"}, format="json"),
        api.get("/api/foo"),
        api.get(foo_path(foo)),
        api.patch(foo_path(foo), {"bar": "third"}, format="json"),
        api.get("/api/auth/me"),
        api.get(f"/api/users/{hashids.encode(User, user.pk)}"),
        api.get(f"/api/users/{hashids.encode(User, other_user.pk)}"),
        api.patch(foo_path(foo), {"owner": hashids.encode(User, other_user.pk)}, format="json"),
    ]
    raw_keys = {str(other_user.pk), str(foo.pk)}

    for response in responses:
        assert response.status_code in (200, 201)
        for name, value in walk(response.json()):
            if name in ("id", "owner"):
                assert isinstance(value, str), (name, value)
                assert not value.isdigit(), (name, value)
        assert not any(key in response.content.decode() for key in raw_keys), response.content
        assert not any(key in response.get("Location", "") for key in raw_keys)
