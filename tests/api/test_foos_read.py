"""Reading Foos: the list, one Foo, and conditional GETs (ETag, If-None-Match, 304)."""

import pytest

from api import hashids
from api.models import Foo
from tests.api.foos_support import NOT_FOUND, detail_url, representation

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
