"""How `make test` picks its legs (tests/legs.py), as its summary tells them."""

import dataclasses

import pytest
from django.conf import settings

from tests import legs
from tests.servers import database_url, free_port

POSTGRES = legs.SERVICES["DATABASE_URL"]
REDIS = legs.SERVICES["REDIS_URL"]


@pytest.fixture(autouse=True)
def unset(monkeypatch):
    for service in legs.SERVICES.values():
        monkeypatch.delenv(service.variable, raising=False)


@pytest.fixture
def nothing_listens(monkeypatch):
    """A machine without PostgreSQL or Redis: nothing listens where they are looked for."""
    urls = {
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{free_port()}/realtime_make_test",
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/15",
    }
    for variable, url in urls.items():
        service = dataclasses.replace(legs.SERVICES[variable], local_url=url)
        monkeypatch.setitem(legs.SERVICES, variable, service)
    return urls


@pytest.mark.parametrize("variable", ["DATABASE_URL", "REDIS_URL"])
def test_a_service_that_does_not_answer_is_skipped_with_the_reason(nothing_listens, variable):
    url, why = legs.SERVICES[variable].find()
    assert url == ""
    assert why.startswith(f"cannot connect to {nothing_listens[variable]} (")
    assert why.endswith(f"); set TEST_{variable} to run it")


def test_a_variable_set_empty_turns_its_service_off(monkeypatch):
    monkeypatch.setenv("TEST_REDIS_URL", "")
    assert REDIS.find() == ("", "TEST_REDIS_URL is set empty")


def test_a_set_variable_is_used_as_it_is(monkeypatch):
    monkeypatch.setenv("TEST_DATABASE_URL", "postgres://someone@db.example/theirs")
    assert POSTGRES.find() == ("postgres://someone@db.example/theirs", "TEST_DATABASE_URL")


@pytest.mark.postgres
def test_postgresql_answering_on_its_local_port_is_used(db):
    here = dataclasses.replace(POSTGRES, local_url=database_url())
    assert here.find() == (database_url(), f"found at {database_url()}")


@pytest.mark.redis
def test_redis_answering_on_its_local_port_is_used():
    here = dataclasses.replace(REDIS, local_url=settings.REDIS_URL)
    assert here.find() == (settings.REDIS_URL, f"found at {settings.REDIS_URL}")


def test_ci_refuses_to_skip_a_leg(nothing_listens, monkeypatch, capsys):
    monkeypatch.setenv("CI", "true")
    assert legs.main([]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "CI must run every leg, and cannot:",
        f"  PostgreSQL: {legs.SERVICES['DATABASE_URL'].find()[1]}",
        f"  Redis: {legs.SERVICES['REDIS_URL'].find()[1]}",
    ]
