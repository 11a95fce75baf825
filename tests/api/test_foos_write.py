"""Writing Foos: create, replace, patch and delete, and the field errors of bad input."""

import pytest

from api import hashids
from api.models import Foo, User
from tests.api.foos_support import detail_url, representation

# Create


def test_create_returns_201_with_location_and_etag(api, user):
    response = api.post("/api/foo", {"bar": "hello"}, format="json")

    foo = Foo.objects.get()
    assert response.status_code == 201
    assert response.json() == representation(foo)
    assert response["Location"] == detail_url(foo)
    assert response["ETag"] == '"1"'
    assert (foo.bar, foo.owner, foo.version) == ("hello", user, 1)


def test_create_accepts_a_trailing_slash(api, user):
    response = api.post("/api/foo/", {"bar": "hello"}, format="json")

    assert response.status_code == 201
    assert Foo.objects.get().bar == "hello"


def test_create_ignores_read_only_fields(api, user):
    # Bad input: values for the read-only id, version and timestamps.
    response = api.post(
        "/api/foo",
        {"bar": "hello", "id": "abc", "version": 99, "created_at": "2000-01-01T00:00:00Z"},
        format="json",
    )

    foo = Foo.objects.get()
    assert response.status_code == 201
    assert response.json()["id"] == hashids.encode(Foo, foo.pk)
    assert foo.version == 1
    assert foo.created_at.year > 2000


@pytest.mark.parametrize(
    ("body", "status", "bar"),
    [
        pytest.param({}, 400, ["This field is required."], id="missing"),
        pytest.param({"bar": ""}, 400, ["This field may not be blank."], id="blank"),
        pytest.param({"bar": None}, 400, ["This field may not be null."], id="null"),
        pytest.param(
            {"bar": "x" * 101},
            400,
            ["Ensure this field has no more than 100 characters."],
            id="101 characters",
        ),
        pytest.param({"bar": "x" * 100}, 201, "x" * 100, id="100 characters"),
        pytest.param({"bar": ["a list"]}, 400, ["Not a valid string."], id="a list"),
        pytest.param({"bar": {"an": "object"}}, 400, ["Not a valid string."], id="an object"),
        pytest.param({"bar": True}, 400, ["Not a valid string."], id="a boolean"),
        pytest.param({"bar": "a\x00b"}, 400, ["Null characters are not allowed."], id="NUL"),
    ],
)
def test_create_checks_bar_as_a_string_of_1_to_100_characters(api, user, body, status, bar):
    # DRF's CharField(max_length=100), pinned: what a client gets for each kind of bar.
    response = api.post("/api/foo", body, format="json")

    assert response.status_code == status
    assert response.json()["bar"] == bar
    assert Foo.objects.count() == (1 if status == 201 else 0)


def test_create_with_an_owner_is_a_field_error(api, user, other_user):
    response = api.post(
        "/api/foo", {"bar": "hello", "owner": hashids.encode(User, other_user.pk)}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "owner": ["A new Foo belongs to its creator; transfer it afterwards with PATCH."]
    }
    assert not Foo.objects.exists()


def test_create_with_a_list_body_is_a_400(api, user):
    # Bad input: a JSON array where an object is expected.
    response = api.post("/api/foo", [{"bar": "hello"}], format="json")

    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": ["Invalid data. Expected a dictionary, but got list."]
    }


# Update and delete


def test_put_replaces_bar_and_bumps_the_version(api, foo):
    response = api.put(detail_url(foo), {"bar": "second"}, format="json")

    foo.refresh_from_db()
    assert response.status_code == 200
    assert response.json() == representation(foo)
    assert (foo.bar, foo.version) == ("second", 2)
    assert response["ETag"] == '"2"'


def test_put_without_bar_is_a_field_error(api, foo):
    response = api.put(detail_url(foo), {}, format="json")

    foo.refresh_from_db()
    assert response.status_code == 400
    assert response.json() == {"bar": ["This field is required."]}
    assert (foo.bar, foo.version) == ("first", 1)


def test_patch_changes_bar_and_bumps_the_version(api, foo):
    response = api.patch(detail_url(foo), {"bar": "second"}, format="json")

    foo.refresh_from_db()
    assert response.status_code == 200
    assert response.json()["bar"] == "second"
    assert foo.version == 2
    assert response["ETag"] == '"2"'


def test_version_grows_by_one_on_every_save(api, foo):
    for bar in ["second", "third", "third"]:
        api.patch(detail_url(foo), {"bar": bar}, format="json")

    foo.refresh_from_db()
    assert foo.version == 4


def test_patch_with_bar_over_100_characters_changes_nothing(api, foo):
    response = api.patch(detail_url(foo), {"bar": "x" * 101}, format="json")

    foo.refresh_from_db()
    assert response.status_code == 400
    assert response.json() == {"bar": ["Ensure this field has no more than 100 characters."]}
    assert (foo.bar, foo.version) == ("first", 1)


def test_delete_removes_the_foo(api, foo):
    response = api.delete(detail_url(foo))

    assert response.status_code == 204
    assert response.content == b""
    assert not Foo.objects.filter(pk=foo.pk).exists()
