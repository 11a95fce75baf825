from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone
from rest_framework.test import APIClient

from api import hashids
from api.models import Foo, User
from tests.conftest import PASSWORD

CSRF_FAILED = "CSRF Failed: CSRF token missing."
BAD_CREDENTIALS = {"non_field_errors": ["Unable to log in with these credentials."]}


@pytest.fixture
def browser(db):
    """An anonymous client whose unsafe requests are CSRF-checked, as a browser's are."""
    return APIClient(enforce_csrf_checks=True)


def fetch_csrf_token(client) -> str:
    response = client.get("/api/auth/csrf")
    assert response.status_code == 204
    return response.cookies[settings.CSRF_COOKIE_NAME].value


def log_in(client, username="alice", password=PASSWORD):
    token = fetch_csrf_token(client)
    return client.post(
        "/api/auth/login",
        {"username": username, "password": password},
        format="json",
        HTTP_X_CSRFTOKEN=token,
    )


def test_csrf_endpoint_sets_the_csrf_cookie(browser):
    response = browser.get("/api/auth/csrf")

    assert response.status_code == 204
    assert response.content == b""
    assert response.cookies[settings.CSRF_COOKIE_NAME].value


def test_login_returns_the_user_and_a_session_cookie(browser, user):
    response = log_in(browser)

    assert response.status_code == 200
    assert response.json() == {
        "id": hashids.encode(User, user.pk),
        "username": "alice",
        "email": "alice@example.com",
        "first_name": "Alice",
        "last_name": "Liddell",
        "date_joined": user.date_joined.isoformat().replace("+00:00", "Z"),
    }
    session_key = response.cookies[settings.SESSION_COOKIE_NAME].value
    assert Session.objects.get(session_key=session_key).get_decoded()["_auth_user_id"] == str(
        user.pk
    )


def test_login_session_expires_at_an_absolute_time(browser, user):
    response = log_in(browser)

    session = Session.objects.get(session_key=response.cookies[settings.SESSION_COOKIE_NAME].value)
    expected = timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE)
    # Stored in the session itself (not only the row), where the socket reads it.
    assert "_session_expiry" in session.get_decoded()
    assert abs(session.expire_date - expected) < timedelta(minutes=1)


def test_login_rotates_the_csrf_token(browser, user):
    old_token = fetch_csrf_token(browser)

    response = browser.post(
        "/api/auth/login",
        {"username": "alice", "password": PASSWORD},
        format="json",
        HTTP_X_CSRFTOKEN=old_token,
    )

    assert response.status_code == 200
    assert response.cookies[settings.CSRF_COOKIE_NAME].value not in ("", old_token)


def test_logged_in_client_reaches_the_api_with_the_new_csrf_token(browser, user):
    log_in(browser)
    token = browser.cookies[settings.CSRF_COOKIE_NAME].value

    me = browser.get("/api/auth/me")
    created = browser.post("/api/foo", {"bar": "hello"}, format="json", HTTP_X_CSRFTOKEN=token)

    assert me.status_code == 200
    assert me.json()["username"] == "alice"
    assert created.status_code == 201
    assert Foo.objects.get().owner == user


def test_login_with_a_wrong_password_is_a_400_with_a_message(browser, user):
    response = log_in(browser, password="not the password")

    assert response.status_code == 400
    assert response.json() == BAD_CREDENTIALS
    assert settings.SESSION_COOKIE_NAME not in response.cookies


def test_login_of_an_unknown_user_is_the_same_400(browser, user):
    response = log_in(browser, username="nobody")

    assert response.status_code == 400
    assert response.json() == BAD_CREDENTIALS


def test_login_of_an_inactive_user_is_refused(browser, user):
    user.is_active = False
    user.save()

    response = log_in(browser)

    assert response.status_code == 400
    assert response.json() == BAD_CREDENTIALS


def test_login_without_credentials_names_each_missing_field(browser, user):
    token = fetch_csrf_token(browser)

    response = browser.post("/api/auth/login", {}, format="json", HTTP_X_CSRFTOKEN=token)

    assert response.status_code == 400
    assert response.json() == {
        "username": ["This field is required."],
        "password": ["This field is required."],
    }


def test_login_with_credentials_of_the_wrong_type_is_a_400(browser, user):
    # Bad input: a list for the username and an object for the password.
    token = fetch_csrf_token(browser)

    response = browser.post(
        "/api/auth/login",
        {"username": ["alice"], "password": {"value": PASSWORD}},
        format="json",
        HTTP_X_CSRFTOKEN=token,
    )

    assert response.status_code == 400
    assert response.json() == {
        "username": ["Not a valid string."],
        "password": ["Not a valid string."],
    }


def test_login_without_the_csrf_token_is_a_json_403(browser, user):
    fetch_csrf_token(browser)

    response = browser.post(
        "/api/auth/login", {"username": "alice", "password": PASSWORD}, format="json"
    )

    assert response.status_code == 403
    assert response.json() == {"detail": CSRF_FAILED}
    assert settings.SESSION_COOKIE_NAME not in response.cookies


def test_login_without_the_csrf_cookie_is_a_json_403(browser, user):
    response = browser.post(
        "/api/auth/login",
        {"username": "alice", "password": PASSWORD},
        format="json",
        HTTP_X_CSRFTOKEN="a" * 32,
    )

    assert response.status_code == 403
    assert response.json() == {"detail": "CSRF Failed: CSRF cookie not set."}


def test_logout_ends_the_session(browser, user):
    session_key = log_in(browser).cookies[settings.SESSION_COOKIE_NAME].value
    token = browser.cookies[settings.CSRF_COOKIE_NAME].value

    response = browser.post("/api/auth/logout", HTTP_X_CSRFTOKEN=token)

    assert response.status_code == 204
    assert not Session.objects.filter(session_key=session_key).exists()
    assert browser.get("/api/auth/me").status_code == 401


def test_logout_without_the_csrf_token_is_refused_and_keeps_the_session(browser, user):
    session_key = log_in(browser).cookies[settings.SESSION_COOKIE_NAME].value

    response = browser.post("/api/auth/logout")

    assert response.status_code == 403
    assert response.json() == {"detail": CSRF_FAILED}
    assert Session.objects.filter(session_key=session_key).exists()


def test_logout_when_not_logged_in_is_401(anonymous_api):
    response = anonymous_api.post("/api/auth/logout")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json() == {"detail": "Authentication credentials were not provided."}


def test_me_returns_the_current_user(api, user):
    response = api.get("/api/auth/me")

    assert response.status_code == 200
    assert response.json()["id"] == hashids.encode(User, user.pk)
    assert response.json()["username"] == "alice"


def test_me_is_401_for_anonymous(anonymous_api):
    response = anonymous_api.get("/api/auth/me")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json() == {"detail": "Authentication credentials were not provided."}


def test_unsafe_request_without_the_csrf_header_is_refused(browser, user):
    log_in(browser)

    response = browser.post("/api/foo", {"bar": "hello"}, format="json")

    assert response.status_code == 403
    assert response.json() == {"detail": CSRF_FAILED}
    assert not Foo.objects.exists()


def test_unsafe_request_with_a_wrong_csrf_header_is_refused(browser, user):
    log_in(browser)

    response = browser.post("/api/foo", {"bar": "hello"}, format="json", HTTP_X_CSRFTOKEN="x" * 32)

    assert response.status_code == 403
    assert response.json()["detail"].startswith("CSRF Failed:")
    assert not Foo.objects.exists()


def test_safe_request_needs_no_csrf_header(browser, user):
    log_in(browser)

    assert browser.get("/api/foo").status_code == 200


@pytest.mark.parametrize("path", ["/api/auth/csrf/", "/api/auth/me/"])
def test_auth_endpoints_accept_a_trailing_slash(api, path):
    assert api.get(path).status_code in (200, 204)
