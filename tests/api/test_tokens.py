"""Personal API tokens over REST: created from a session, used as `Authorization: Bearer`."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from api import hashids, tokens
from api.models import ApiToken, Foo

CHALLENGE = "Bearer"


def bearer(secret: str) -> APIClient:
    """A script's client: no cookie, CSRF checked as a browser's would be, a token header."""
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


@pytest.fixture
def secret(user):
    return tokens.issue(user, "ci")[1]


def assert_refused(response, detail: str) -> None:
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == CHALLENGE
    assert response.json() == {"detail": detail}


def test_creating_a_token_shows_its_secret_once_and_stores_only_its_digest(api, user):
    expires_at = timezone.now() + timedelta(days=30)

    response = api.post("/api/auth/tokens", {"name": "ci", "expires_at": expires_at}, format="json")

    body = response.json()
    token = ApiToken.objects.get()
    assert response.status_code == 201
    assert body == {
        "id": hashids.encode(ApiToken, token.pk),
        "name": "ci",
        "prefix": body["token"][:8],
        "created_at": token.created_at.isoformat().replace("+00:00", "Z"),
        "last_used_at": None,
        "expires_at": expires_at.isoformat().replace("+00:00", "Z"),
        "token": body["token"],
    }
    assert tokens.FORMAT.fullmatch(body["token"])
    stored = [str(value) for value in ApiToken.objects.values().get().values()]
    assert body["token"] not in stored
    assert token.digest == tokens.digest(body["token"])
    assert "token" not in api.get("/api/auth/tokens").json()["results"][0]


def test_listing_shows_names_times_and_prefixes_of_own_tokens_only(api, user, other_user):
    first, first_secret = tokens.issue(user, "laptop")
    bearer(first_secret).get("/api/auth/me")
    tokens.issue(other_user, "not yours")

    response = api.get("/api/auth/tokens")

    first.refresh_from_db()
    assert response.status_code == 200
    assert response.json()["results"] == [
        {
            "id": hashids.encode(ApiToken, first.pk),
            "name": "laptop",
            "prefix": first_secret[:8],
            "created_at": first.created_at.isoformat().replace("+00:00", "Z"),
            "last_used_at": first.last_used_at.isoformat().replace("+00:00", "Z"),
            "expires_at": None,
        }
    ]


def test_a_token_authenticates_every_method_without_csrf(user, secret):
    client = bearer(secret)

    created = client.post("/api/foo", {"bar": "from a script"}, format="json")
    foo_id = created.json()["id"]
    patched = client.patch(f"/api/foo/{foo_id}", {"bar": "changed"}, format="json")
    listed = client.get("/api/foo")
    deleted = client.delete(f"/api/foo/{foo_id}")

    assert [created.status_code, patched.status_code, listed.status_code] == [201, 200, 200]
    assert created.json()["owner"] == hashids.encode(type(user), user.pk)
    assert listed.json()["results"][0]["bar"] == "changed"
    assert deleted.status_code == 204
    assert not Foo.objects.exists()


def test_use_is_recorded_at_most_once_a_minute(user):
    token, secret = tokens.issue(user, "ci")

    bearer(secret).get("/api/auth/me")
    token.refresh_from_db()
    first_use = token.last_used_at
    bearer(secret).get("/api/auth/me")
    token.refresh_from_db()
    unchanged = token.last_used_at
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first_use - timedelta(minutes=2))
    bearer(secret).get("/api/auth/me")
    token.refresh_from_db()

    assert first_use is not None
    assert unchanged == first_use
    assert token.last_used_at > first_use


def test_deleting_a_token_revokes_it(api, user, secret):
    token = ApiToken.objects.get()

    response = api.delete(f"/api/auth/tokens/{hashids.encode(ApiToken, token.pk)}")

    assert response.status_code == 204
    assert not ApiToken.objects.exists()
    assert_refused(
        bearer(secret).get("/api/auth/me"), "Invalid token: it does not exist or was revoked."
    )


def test_a_token_may_list_and_revoke_tokens_but_not_create_them(user, secret):
    client = bearer(secret)
    token_id = hashids.encode(ApiToken, ApiToken.objects.get().pk)

    created = client.post("/api/auth/tokens", {"name": "minted"}, format="json")
    listed = client.get("/api/auth/tokens")
    revoked = client.delete(f"/api/auth/tokens/{token_id}")

    assert created.status_code == 403
    assert created.json() == {
        "detail": "A token cannot create tokens: log in and create it from the session."
    }
    assert [item["id"] for item in listed.json()["results"]] == [token_id]
    assert revoked.status_code == 204
    assert not ApiToken.objects.exists()


def test_another_users_token_is_not_found(api, other_user):
    foreign, _ = tokens.issue(other_user, "bob's")

    response = api.delete(f"/api/auth/tokens/{hashids.encode(ApiToken, foreign.pk)}")

    assert response.status_code == 404
    assert ApiToken.objects.filter(pk=foreign.pk).exists()


def test_an_expiry_in_the_past_is_invalid(api):
    yesterday = timezone.now() - timedelta(days=1)

    response = api.post("/api/auth/tokens", {"name": "old", "expires_at": yesterday}, format="json")

    assert response.status_code == 400
    assert response.json() == {"expires_at": ["An expiry must be in the future."]}
    assert not ApiToken.objects.exists()


def test_logging_out_with_a_token_revokes_it(user, secret):
    response = bearer(secret).post("/api/auth/logout")

    assert response.status_code == 204
    assert not ApiToken.objects.exists()


def test_anonymous_request_is_challenged_for_a_bearer_token(anonymous_api):
    assert_refused(anonymous_api.get("/api/foo"), "Authentication credentials were not provided.")


def test_expired_token_is_refused_saying_when_it_expired(user):
    expired_at = timezone.now() - timedelta(seconds=1)
    token, secret = tokens.issue(user, "old", expires_at=expired_at)

    assert_refused(
        bearer(secret).get("/api/foo"),
        f"Token expired at {expired_at.isoformat()}; create a new one.",
    )
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_token_of_a_deactivated_user_is_refused(user, secret):
    user.is_active = False
    user.save()

    assert_refused(bearer(secret).get("/api/foo"), "The token's user is inactive.")


@pytest.mark.parametrize(
    ("tried", "detail"),
    [
        ("rrb_short", "Malformed token: an API token is rrb_ and 43 more characters."),
        ("x" * 47, "Malformed token: an API token is rrb_ and 43 more characters."),
        ("rrb_" + "A" * 43, "Invalid token: it does not exist or was revoked."),
    ],
)
def test_malformed_and_unknown_tokens_are_refused(user, tried, detail):
    assert_refused(bearer(tried).get("/api/foo"), detail)


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        ("Bearer", "Invalid token header. No credentials provided."),
        ("Bearer a b", "Invalid token header. Token string should not contain spaces."),
        (
            "Basic YWxpY2U6cGFzc3dvcmQ=",
            "Unsupported authorization scheme 'Basic': send `Authorization: Bearer <token>`.",
        ),
        (
            "Token rrb_x",
            "Unsupported authorization scheme 'Token': send `Authorization: Bearer <token>`.",
        ),
    ],
)
def test_malformed_headers_and_unknown_schemes_are_refused(user, header, detail):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    assert_refused(client.get("/api/foo"), detail)


@pytest.mark.parametrize("parameter", ["access_token", "token"])
def test_a_token_in_the_query_string_is_refused_even_when_valid(user, secret, parameter):
    response = APIClient().get("/api/foo", {parameter: secret})

    assert_refused(response, tokens.QUERY_DETAIL)


def test_a_bad_token_is_refused_even_beside_a_valid_session(api):
    api.credentials(HTTP_AUTHORIZATION="Bearer rrb_" + "A" * 43)

    assert_refused(api.get("/api/auth/me"), "Invalid token: it does not exist or was revoked.")


def test_the_session_still_needs_its_csrf_token(user):
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(user)

    response = browser.post("/api/auth/tokens", {"name": "csrf"}, format="json")

    assert response.status_code == 403
    assert response.json()["detail"].startswith("CSRF Failed")


def test_a_token_is_shown_by_name_and_prefix_never_the_secret(user):
    token, secret = tokens.issue(user, "ci")

    assert str(token) == f"ci ({secret[:8]}…)"
