"""Schemathesis against the live schema, as a logged-in browser: no response is a 5xx, and every
one has a documented status, content type and body."""

import json

import pytest
import schemathesis
from django.conf import settings
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api import hashids
from api.models import Foo, User

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# The session cookie is the test's own, not a generated one.
CONFIG = schemathesis.Config.from_dict({"generation": {"with-security-parameters": False}})
EXAMPLES = hypothesis_settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
POSITIVE, NEGATIVE = GenerationMode.POSITIVE, GenerationMode.NEGATIVE


def on_each_id(path, method, *, negative=False):
    """An operation on an id: a generated one (which names nothing), the caller's own object's,
    and someone else's; negative data (a spoiled body) only on the caller's own."""
    yield path, method, None, POSITIVE
    yield path, method, "own", POSITIVE
    if negative:
        yield path, method, "own", NEGATIVE
    yield path, method, "foreign", POSITIVE


# (path, method, whose id, mode). Negative data needs an input to spoil: a body or a query.
CASES = [
    ("/api/auth/csrf/", "GET", None, POSITIVE),
    ("/api/auth/login/", "POST", None, POSITIVE),
    ("/api/auth/login/", "POST", None, NEGATIVE),
    ("/api/auth/logout/", "POST", None, POSITIVE),
    ("/api/auth/me/", "GET", None, POSITIVE),
    ("/api/health/", "GET", None, POSITIVE),
    ("/api/health/live/", "GET", None, POSITIVE),
    ("/api/health/ready/", "GET", None, POSITIVE),
    ("/api/foo/", "GET", None, POSITIVE),
    ("/api/foo/", "GET", None, NEGATIVE),
    ("/api/foo/", "POST", None, POSITIVE),
    ("/api/foo/", "POST", None, NEGATIVE),
    *on_each_id("/api/foo/{id}/", "GET"),
    *on_each_id("/api/foo/{id}/", "PUT", negative=True),
    *on_each_id("/api/foo/{id}/", "PATCH", negative=True),
    *on_each_id("/api/foo/{id}/", "DELETE"),
    *on_each_id("/api/users/{id}/", "GET"),
    *on_each_id("/api/users/{id}/", "PATCH", negative=True),
]


def in_the_test_transaction(app):
    """Django's WSGI application, run as the test client runs it: without closing the database
    connection around each request, which would end the test's transaction (PostgreSQL then
    refuses to reopen it)."""

    def wsgi(environ, start_response):
        for signal in (request_started, request_finished):
            signal.disconnect(close_old_connections)
        try:
            response = app(environ, start_response)
            try:
                return [b"".join(response)]
            finally:
                response.close()
        finally:
            for signal in (request_started, request_finished):
                signal.connect(close_old_connections)

    return wsgi


@pytest.fixture
def api_schema(anonymous_api, db):
    raw = json.loads(anonymous_api.get("/api/schema", {"format": "json"}).content)
    schema = schemathesis.openapi.from_dict(raw, config=CONFIG)
    schema.app = in_the_test_transaction(get_wsgi_application())
    return schema


@pytest.fixture
def ids(user, other_user, foo, foreign_foo):
    return {
        ("/api/foo/{id}/", "own"): hashids.encode(Foo, foo.pk),
        ("/api/foo/{id}/", "foreign"): hashids.encode(Foo, foreign_foo.pk),
        ("/api/users/{id}/", "own"): hashids.encode(User, user.pk),
        ("/api/users/{id}/", "foreign"): hashids.encode(User, other_user.pk),
    }


@pytest.fixture
def browser(user):
    """What a logged-in browser sends: the session and CSRF cookies, and the CSRF header."""
    client = Client()
    client.force_login(user)
    client.get("/api/auth/csrf")
    cookies = {name: cookie.value for name, cookie in client.cookies.items()}
    return {"cookies": cookies, "headers": {"X-CSRFToken": cookies[settings.CSRF_COOKIE_NAME]}}


@pytest.mark.parametrize(("path", "method", "target", "mode"), CASES)
def test_responses_conform_to_the_schema(api_schema, ids, browser, path, method, target, mode):
    operation = api_schema[path][method]
    path_parameters = {"id": ids[path, target]} if target else None

    @given(case=operation.as_strategy(mode, path_parameters=path_parameters))
    @EXAMPLES
    def conforms(case):
        # Every example starts from the same data: what one wrote (a deletion, a logout, an
        # owner transfer) is rolled back.
        with transaction.atomic():
            response = case.call(**browser)
            case.validate_response(response, checks=CHECKS)
            transaction.set_rollback(True)

    conforms()
