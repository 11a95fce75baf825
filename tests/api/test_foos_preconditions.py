"""If-Match: a write from a stale read is refused with 412 and changes nothing."""

import pytest

from api.models import Foo
from tests.api.foos_support import STALE, detail_url


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
