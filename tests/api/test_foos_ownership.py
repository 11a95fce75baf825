"""Whose Foo it is: another user's Foo does not exist for the caller, anonymous callers are
refused, and an owner can hand a Foo over with PATCH."""

import pytest
from rest_framework.test import APIClient

from api import hashids
from api.models import Foo, User
from tests.api.foos_support import NOT_FOUND, NOT_LOGGED_IN, detail_url
from tests.conftest import make_user

# Ownership


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("get", None),
        ("head", None),
        ("put", {"bar": "mine now"}),
        ("patch", {"bar": "mine now"}),
        ("delete", None),
    ],
)
def test_another_users_foo_does_not_exist_for_the_caller(api, foreign_foo, method, body):
    response = getattr(api, method)(detail_url(foreign_foo), body, format="json")

    foreign_foo.refresh_from_db()
    assert response.status_code == 404
    if method != "head":
        assert response.json() == NOT_FOUND
    assert (foreign_foo.bar, foreign_foo.version) == ("not yours", 1)


def test_another_users_foo_looks_exactly_like_a_missing_one(api, foreign_foo):
    missing = Foo(pk=foreign_foo.pk + 1000)

    foreign = api.get(detail_url(foreign_foo))
    absent = api.get(detail_url(missing))

    assert (foreign.status_code, foreign.content) == (absent.status_code, absent.content)


def test_another_users_foo_is_404_even_with_its_current_if_match(api, foreign_foo):
    response = api.patch(
        detail_url(foreign_foo), {"bar": "mine now"}, format="json", HTTP_IF_MATCH='"1"'
    )

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/foo"),
        ("post", "/api/foo"),
        ("get", "detail"),
        ("put", "detail"),
        ("patch", "detail"),
        ("delete", "detail"),
    ],
)
def test_anonymous_callers_are_refused_with_401(anonymous_api, foo, method, path):
    url = detail_url(foo) if path == "detail" else path

    response = getattr(anonymous_api, method)(url, {"bar": "anonymous"}, format="json")

    foo.refresh_from_db()
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json() == NOT_LOGGED_IN
    assert (Foo.objects.count(), foo.bar) == (1, "first")


# Owner transfer


def test_owner_can_transfer_a_foo_to_another_user(api, foo, other_user):
    response = api.patch(
        detail_url(foo), {"owner": hashids.encode(User, other_user.pk)}, format="json"
    )

    foo.refresh_from_db()
    assert response.status_code == 200
    assert response.json()["owner"] == hashids.encode(User, other_user.pk)
    assert (foo.owner, foo.version) == (other_user, 2)


def test_transferred_foo_no_longer_exists_for_the_old_owner(api, foo, other_user):
    api.patch(detail_url(foo), {"owner": hashids.encode(User, other_user.pk)}, format="json")

    assert api.get(detail_url(foo)).status_code == 404
    assert api.get("/api/foo").json()["count"] == 0


def test_transferred_foo_belongs_to_the_new_owner(api, foo, other_user):
    api.patch(detail_url(foo), {"owner": hashids.encode(User, other_user.pk)}, format="json")
    new_owner = APIClient()
    new_owner.force_login(other_user)

    response = new_owner.get(detail_url(foo))

    assert response.status_code == 200
    assert response.json()["bar"] == "first"


def test_transfer_to_oneself_keeps_the_foo(api, foo, user):
    response = api.patch(detail_url(foo), {"owner": hashids.encode(User, user.pk)}, format="json")

    assert response.status_code == 200
    assert api.get(detail_url(foo)).status_code == 200


@pytest.mark.parametrize(
    ("owner", "message"),
    [
        ("not-a-hashid", "Not a valid user id."),
        ("", "Not a valid user id."),
        (12, "Not a valid user id."),
        (["x"], "Not a valid user id."),
        (None, "This field may not be null."),
    ],
)
def test_transfer_to_a_malformed_owner_id_is_a_field_error(api, foo, owner, message):
    response = api.patch(detail_url(foo), {"owner": owner}, format="json")

    foo.refresh_from_db()
    assert response.status_code == 400
    assert response.json() == {"owner": [message]}
    assert foo.version == 1


def test_transfer_to_an_unknown_user_is_a_field_error(api, foo):
    response = api.patch(detail_url(foo), {"owner": hashids.encode(User, 10**6)}, format="json")

    assert response.status_code == 400
    assert response.json() == {"owner": ["No such user."]}


def test_transfer_to_an_inactive_user_is_a_field_error(api, foo, other_user):
    other_user.is_active = False
    other_user.save()

    response = api.patch(
        detail_url(foo), {"owner": hashids.encode(User, other_user.pk)}, format="json"
    )

    foo.refresh_from_db()
    assert response.status_code == 400
    assert response.json() == {"owner": ["No such user."]}
    assert foo.owner_id != other_user.pk


def test_transfer_to_the_id_of_another_model_is_a_field_error(production_length_salt, api, user):
    # Bad input: Foo 51's id, where User 51 exists.
    make_user("carol", id=51)
    foo = Foo.objects.create(id=51, bar="first", owner=user)

    response = api.patch(detail_url(foo), {"owner": hashids.encode(Foo, 51)}, format="json")

    foo.refresh_from_db()
    assert response.status_code == 400
    assert response.json() == {"owner": ["Not a valid user id."]}
    assert (foo.owner, foo.version) == (user, 1)


def test_transfer_by_someone_else_is_404(api, foreign_foo, user):
    response = api.patch(
        detail_url(foreign_foo), {"owner": hashids.encode(User, user.pk)}, format="json"
    )

    foreign_foo.refresh_from_db()
    assert response.status_code == 404
    assert foreign_foo.owner_id != user.pk
