"""`/metrics` (backend/metrics.py): who may read it, and what it says."""

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient, Client
from prometheus_client.parser import text_string_to_metric_families

from api.jobs.tasks import submit
from api.models import Job

pytestmark = pytest.mark.django_db

TOKEN = "scrape-me-" + "x" * 30


@pytest.fixture
def scraper(settings):
    settings.METRICS_TOKEN = TOKEN
    return Client(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")


def samples(response) -> dict:
    """`{(name, frozenset(labels)): value}` of a Prometheus text response."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def test_metrics_are_not_found_while_no_token_is_set(settings):
    settings.METRICS_TOKEN = ""
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", f"Basic {TOKEN}", "Bearer é"])
def test_metrics_need_the_token(scraper, authorization):
    headers = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}
    response = Client().get("/metrics", **headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_metrics_count_jobs_by_state_and_the_queue_age(scraper, user):
    submit(Job.Kind.FOO_IMPORT, user, {"items": []})
    response = scraper.get("/metrics")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    found = samples(response)
    assert found[("jobs", frozenset({("state", "queued")}))] == 1
    assert found[("jobs", frozenset({("state", "failed")}))] == 0
    assert 0 <= found[("jobs_oldest_queued_age_seconds", frozenset())] < 60


def count(scraper, method, route, status):
    labels = frozenset({("method", method), ("route", route), ("status", status)})
    return samples(scraper.get("/metrics")).get(("http_request_duration_seconds_count", labels), 0)


def test_request_latency_is_counted_by_method_route_and_status(scraper, anonymous_api):
    before = (
        count(scraper, "GET", "health-live", "200"),
        count(scraper, "other", "unmatched", "404"),
    )
    anonymous_api.get("/api/health/live")
    anonymous_api.generic("BREW", "/not-here")

    after = count(scraper, "GET", "health-live", "200"), count(scraper, "other", "unmatched", "404")
    assert after == (before[0] + 1, before[1] + 1)


def test_request_latency_is_counted_through_the_asgi_handler_daphne_runs(scraper):
    before = count(scraper, "GET", "health-live", "200")

    assert async_to_sync(AsyncClient().get)("/api/health/live").status_code == 200

    assert count(scraper, "GET", "health-live", "200") == before + 1
