import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.db.models.signals import pre_save
from rest_framework.test import APIClient

from api import hashids
from api.models import Foo, User
from tests.conftest import make_user
from tests.support import wait_for_a_session_blocked_by_this_one

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


# List


def test_list_shows_only_the_callers_foos_paginated(api, foo, foreign_foo):
    response = api.get("/api/foo")

    assert response.status_code == 200
    assert response.json() == {
        "count": 1,
        "next": None,
        "previous": None,
        "results": [representation(foo)],
    }


def test_list_is_newest_first(api, user):
    older = Foo.objects.create(bar="older", owner=user)
    newer = Foo.objects.create(bar="newer", owner=user)

    results = api.get("/api/foo").json()["results"]

    assert [item["id"] for item in results] == [
        hashids.encode(Foo, newer.pk),
        hashids.encode(Foo, older.pk),
    ]


def test_list_pages_hold_fifty_foos(api, user):
    Foo.objects.bulk_create(Foo(bar=f"foo {n}", owner=user) for n in range(51))

    first = api.get("/api/foo").json()
    second = api.get("/api/foo", {"page": 2}).json()

    assert first["count"] == 51
    assert len(first["results"]) == 50
    assert first["next"] == "http://testserver/api/foo?page=2"
    assert len(second["results"]) == 1
    assert second["previous"] == "http://testserver/api/foo"


@pytest.mark.parametrize("page", ["2", "0", "-1", "abc"])
def test_list_page_out_of_range_is_404(api, foo, page):
    response = api.get("/api/foo", {"page": page})

    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid page."}


@pytest.mark.parametrize("path", ["/api/foo", "/api/foo/"])
def test_list_accepts_the_path_with_or_without_trailing_slash(api, foo, path):
    response = api.get(path)

    assert response.status_code == 200
    assert response.json()["count"] == 1


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


def test_create_without_bar_is_a_field_error(api, user):
    response = api.post("/api/foo", {}, format="json")

    assert response.status_code == 400
    assert response.json() == {"bar": ["This field is required."]}
    assert not Foo.objects.exists()


def test_create_with_blank_bar_is_a_field_error(api, user):
    response = api.post("/api/foo", {"bar": ""}, format="json")

    assert response.status_code == 400
    assert response.json() == {"bar": ["This field may not be blank."]}


def test_create_with_null_bar_is_a_field_error(api, user):
    response = api.post("/api/foo", {"bar": None}, format="json")

    assert response.status_code == 400
    assert response.json() == {"bar": ["This field may not be null."]}


def test_create_with_bar_over_100_characters_is_a_field_error(api, user):
    response = api.post("/api/foo", {"bar": "x" * 101}, format="json")

    assert response.status_code == 400
    assert response.json() == {"bar": ["Ensure this field has no more than 100 characters."]}
    assert not Foo.objects.exists()


def test_create_with_bar_of_exactly_100_characters_is_accepted(api, user):
    response = api.post("/api/foo", {"bar": "x" * 100}, format="json")

    assert response.status_code == 201


@pytest.mark.parametrize("bar", [["a list"], {"an": "object"}, True])
def test_create_with_bar_of_the_wrong_type_is_a_field_error(api, user, bar):
    response = api.post("/api/foo", {"bar": bar}, format="json")

    assert response.status_code == 400
    assert response.json() == {"bar": ["Not a valid string."]}
    assert not Foo.objects.exists()


def test_create_with_null_characters_in_bar_is_a_field_error(api, user):
    response = api.post("/api/foo", {"bar": "a\x00b"}, format="json")

    assert response.status_code == 400
    assert response.json() == {"bar": ["Null characters are not allowed."]}


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


# Retrieve


def test_retrieve_returns_the_foo_with_its_etag(api, foo):
    response = api.get(detail_url(foo))

    assert response.status_code == 200
    assert response.json() == representation(foo)
    assert response["ETag"] == '"1"'


def test_retrieve_accepts_a_trailing_slash(api, foo):
    response = api.get(detail_url(foo) + "/")

    assert response.status_code == 200
    assert response.json()["bar"] == "first"


def test_head_has_the_etag_and_no_body(api, foo):
    response = api.head(detail_url(foo))

    assert response.status_code == 200
    assert response["ETag"] == '"1"'
    assert response.content == b""


def test_options_describes_the_detail_endpoint(api, foo):
    response = api.options(detail_url(foo))

    assert response.status_code == 200
    assert response.json()["name"] == "Foo Instance"
    assert "ETag" not in response


def test_options_with_a_stale_if_match_is_still_answered(api, foo):
    response = api.options(detail_url(foo), HTTP_IF_MATCH='"7"')

    assert response.status_code == 200


# Conditional GET


def test_a_current_if_none_match_gets_304_with_no_body_and_the_etag(api, foo):
    response = api.get(detail_url(foo), HTTP_IF_NONE_MATCH='"1"')

    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == '"1"'


def test_a_stale_if_none_match_gets_the_foo(api, foo):
    api.patch(detail_url(foo), {"bar": "second"}, format="json")

    response = api.get(detail_url(foo), HTTP_IF_NONE_MATCH='"1"')

    assert response.status_code == 200
    assert response.json() == representation(foo)
    assert response["ETag"] == '"2"'


def test_the_list_is_not_modified_until_a_foo_changes(api, foo):
    etag = api.get("/api/foo")["ETag"]

    unchanged = api.get("/api/foo", HTTP_IF_NONE_MATCH=etag)
    api.patch(detail_url(foo), {"bar": "second"}, format="json")
    changed = api.get("/api/foo", HTTP_IF_NONE_MATCH=etag)

    assert (unchanged.status_code, unchanged.content, unchanged["ETag"]) == (304, b"", etag)
    assert changed.status_code == 200
    assert changed.json()["results"] == [representation(foo)]
    assert changed["ETag"] != etag


@pytest.mark.parametrize("if_none_match", ['"1"', "*"])
def test_an_error_is_never_not_modified(api, foreign_foo, if_none_match):
    # Someone else's Foo at version 1: no If-None-Match learns that it exists.
    response = api.get(detail_url(foreign_foo), HTTP_IF_NONE_MATCH=if_none_match)

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


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


# Preconditions


@pytest.mark.parametrize(
    ("method", "body"), [("put", {"bar": "new"}), ("patch", {"bar": "new"}), ("delete", None)]
)
def test_write_with_a_stale_if_match_is_412_and_changes_nothing(api, foo, method, body):
    response = getattr(api, method)(detail_url(foo), body, format="json", HTTP_IF_MATCH='"7"')

    foo.refresh_from_db()
    assert response.status_code == 412
    assert response.json() == STALE
    assert (foo.bar, foo.version) == ("first", 1)


@pytest.mark.parametrize("if_match", ['"1"', '"0", "1"', "*"])
def test_patch_with_a_matching_if_match_succeeds(api, foo, if_match):
    response = api.patch(detail_url(foo), {"bar": "new"}, format="json", HTTP_IF_MATCH=if_match)

    assert response.status_code == 200
    assert response["ETag"] == '"2"'


def test_delete_with_a_matching_if_match_succeeds(api, foo):
    response = api.delete(detail_url(foo), HTTP_IF_MATCH='"1"')

    assert response.status_code == 204
    assert not Foo.objects.filter(pk=foo.pk).exists()


def test_if_match_compares_strongly_so_a_weak_etag_is_stale(api, foo):
    # Bad input: the current version as a weak tag, which If-Match never matches (RFC 9110).
    response = api.patch(detail_url(foo), {"bar": "new"}, format="json", HTTP_IF_MATCH='W/"1"')

    assert response.status_code == 412


def test_malformed_if_match_is_stale(api, foo):
    # Bad input: an If-Match that is not a list of quoted tags.
    response = api.patch(detail_url(foo), {"bar": "new"}, format="json", HTTP_IF_MATCH="1")

    foo.refresh_from_db()
    assert response.status_code == 412
    assert foo.bar == "first"


def test_etag_of_a_read_is_accepted_by_the_next_write(api, foo):
    etag = api.get(detail_url(foo))["ETag"]

    first = api.patch(detail_url(foo), {"bar": "a"}, format="json", HTTP_IF_MATCH=etag)
    second = api.patch(detail_url(foo), {"bar": "b"}, format="json", HTTP_IF_MATCH=etag)

    assert first.status_code == 200
    assert second.status_code == 412


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_patches_with_the_same_if_match_give_one_200_and_one_412(user):
    foo = Foo.objects.create(bar="first", owner=user)
    clients = [APIClient(), APIClient()]
    for client in clients:
        client.force_login(user)
    start = threading.Barrier(len(clients))
    waiter_seen = []

    def hold_the_row_until_the_other_patch_waits_for_it(sender, instance, **kwargs):
        # Runs in the PATCH that holds the row lock, just before its write: the other one must
        # be blocked on that lock by now, or it would read version 1 and pass If-Match too.
        waiter_seen.append(wait_for_a_session_blocked_by_this_one(timeout=10))

    def patch(client, bar):
        start.wait()
        try:
            return client.patch(detail_url(foo), {"bar": bar}, format="json", HTTP_IF_MATCH='"1"')
        finally:
            connection.close()

    pre_save.connect(hold_the_row_until_the_other_patch_waits_for_it, sender=Foo)
    try:
        with ThreadPoolExecutor(len(clients)) as pool:
            responses = list(pool.map(patch, clients, ["A", "B"]))
    finally:
        pre_save.disconnect(hold_the_row_until_the_other_patch_waits_for_it, sender=Foo)

    assert waiter_seen == [True], "the second PATCH never waited for the row lock"
    assert sorted(response.status_code for response in responses) == [200, 412]
    winner = next(response for response in responses if response.status_code == 200)
    foo.refresh_from_db()
    assert (foo.bar, foo.version) == (winner.json()["bar"], 2)


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
def test_anonymous_callers_are_refused_with_403(anonymous_api, foo, method, path):
    url = detail_url(foo) if path == "detail" else path

    response = getattr(anonymous_api, method)(url, {"bar": "anonymous"}, format="json")

    foo.refresh_from_db()
    assert response.status_code == 403
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


@pytest.mark.django_db(transaction=True)
def test_concurrent_patches_without_if_match_both_apply(user):
    # Two PATCHes that would both read the row before either writes: on SQLite the second could
    # not upgrade its read lock ("database is locked", a 500); everywhere the version must count
    # both.
    foo = Foo.objects.create(bar="first", owner=user)
    clients = [APIClient(), APIClient()]
    for client in clients:
        client.force_login(user)
    both_read = threading.Barrier(len(clients), timeout=1)

    def wait_for_the_other_to_read(sender, instance, **kwargs):
        # Where the database lets the other PATCH read too, both reach this point; where it
        # makes it wait, the barrier breaks after a second and this one goes on alone.
        with contextlib.suppress(threading.BrokenBarrierError):
            both_read.wait()

    def patch(client, bar):
        try:
            return client.patch(detail_url(foo), {"bar": bar}, format="json")
        finally:
            connection.close()

    pre_save.connect(wait_for_the_other_to_read, sender=Foo)
    try:
        with ThreadPoolExecutor(len(clients)) as pool:
            responses = list(pool.map(patch, clients, ["A", "B"]))
    finally:
        pre_save.disconnect(wait_for_the_other_to_read, sender=Foo)

    assert [response.status_code for response in responses] == [200, 200]
    foo.refresh_from_db()
    assert foo.version == 3
