import json

import pytest

from api.models import Foo


def post_raw(api, body: bytes | str, content_type="application/json", path="/api/foo"):
    return api.generic("POST", path, body, content_type=content_type)


def test_malformed_json_is_a_400_with_the_parse_error(api, user):
    # Bad input: an object cut off before its closing brace.
    response = post_raw(api, '{"bar": "hello"')

    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error - ")
    assert not Foo.objects.exists()


def test_an_empty_json_body_is_a_400(api, user):
    # Bad input: Content-Type application/json with no body at all.
    response = post_raw(api, "")

    assert response.status_code == 400
    assert response.json() == {"bar": ["This field is required."]}


def test_json_that_is_not_utf8_is_a_400(api, user):
    # Bad input: Latin-1 bytes declared as (default UTF-8) JSON.
    response = post_raw(api, '{"bar": "caf\xe9"}'.encode("latin-1"))

    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error - ")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_standard_json_constants_are_a_400(api, user, constant):
    # Bad input: Python's JSON extensions, which are not JSON.
    response = post_raw(api, f'{{"bar": {constant}}}')

    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


def test_deeply_nested_json_is_a_400_not_a_500(api, user):
    # Bad input: 100,000 nested arrays (200 kB), deeper than Python's parser recurses.
    response = post_raw(api, "[" * 100_000 + "]" * 100_000)

    assert response.status_code == 400
    assert response.json() == {"detail": "JSON parse error - nested too deeply."}


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", "bar=hello"),
        ("application/x-www-form-urlencoded", "bar=hello"),
        (
            "multipart/form-data; boundary=xyz",
            '--xyz\r\nContent-Disposition: form-data; name="bar"',
        ),
        ("application/xml", "<bar>hello</bar>"),
    ],
)
def test_a_body_that_is_not_json_is_a_415(api, user, content_type, body):
    response = post_raw(api, body, content_type=content_type)

    assert response.status_code == 415
    media_type = content_type.split(";")[0]
    assert response.json()["detail"].startswith(f'Unsupported media type "{media_type}')
    assert not Foo.objects.exists()


def test_a_body_over_the_size_limit_is_a_413(api, user, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    # Bad input: a valid 101-byte body, one byte over the limit.
    body = json.dumps({"bar": "x" * (101 - len('{"bar": ""}'))})
    assert len(body) == 101

    response = post_raw(api, body)

    assert response.status_code == 413
    assert response.json() == {"detail": "The request body is larger than 100 bytes."}
    assert not Foo.objects.exists()


def test_a_body_at_the_size_limit_is_parsed(api, user, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    body = json.dumps({"bar": "x" * (100 - len('{"bar": ""}'))})
    assert len(body) == 100

    response = post_raw(api, body)

    assert response.status_code == 201


def test_the_size_limit_applies_to_every_json_endpoint(api, user, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10
    # Bad input: a login body over a 10-byte limit.
    response = post_raw(
        api, json.dumps({"username": "alice", "password": "x"}), path="/api/auth/login"
    )

    assert response.status_code == 413


def test_the_default_size_limit_is_two_megabytes(api, user):
    # Bad input: a body just over 2 MiB (one long string, refused before it is parsed).
    body = json.dumps({"bar": "x" * (2 * 1024 * 1024)})

    response = post_raw(api, body)

    assert response.status_code == 413
    assert response.json() == {"detail": "The request body is larger than 2097152 bytes."}
