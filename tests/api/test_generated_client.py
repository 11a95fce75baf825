"""A Python client generated from the committed schema works against a live server with a
token: a schema change that breaks generated clients fails here."""

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from websockets.sync.client import connect

from api import tokens
from tests.servers import ROOT, Daphne

pytestmark = pytest.mark.django_db(transaction=True)

GENERATOR = Path(sys.executable).parent / "openapi-python-client"
PACKAGE = "realtime_rest_client"


@pytest.fixture(scope="session")
def generated(tmp_path_factory):
    """The client package, generated once per session (it takes seconds) with the pinned
    openapi-python-client, as a user of the schema would; its lint hooks are skipped."""
    directory = tmp_path_factory.mktemp("generated")
    config = directory / "config.yaml"
    config.write_text("post_hooks: []\n")
    subprocess.run(
        [
            GENERATOR,
            "generate",
            "--path",
            ROOT / "openapi" / "schema.yaml",
            "--meta",
            "none",
            "--output-path",
            directory / PACKAGE,
            "--config",
            config,
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    sys.path.insert(0, str(directory))
    yield lambda name: importlib.import_module(f"{PACKAGE}.{name}")
    sys.path.remove(str(directory))


@pytest.fixture
def server(transactional_db):
    # Jobs run inside this server on both legs, so that the import below finishes.
    daphne = Daphne(JOBS_EMBEDDED_WORKER="1")
    yield daphne
    daphne.stop()


def test_generated_client_manages_foos_and_imports_with_a_token(generated, server, user):
    _, secret = tokens.issue(user, "generated client")
    models = generated("models")
    client = generated("client").AuthenticatedClient(
        base_url=server.url, token=secret, raise_on_unexpected_status=True
    )
    update = generated("api.foo.foo_partial_update")

    created = generated("api.foo.foo_create").sync_detailed(
        client=client, body=models.FooRequest(bar="generated")
    )
    listed = generated("api.foo.foo_list").sync(client=client)
    foo = created.parsed
    updated = update.sync_detailed(
        foo.id, client=client, body=models.PatchedFooRequest(bar="updated"), if_match='"1"'
    )
    stale = update.sync_detailed(
        foo.id, client=client, body=models.PatchedFooRequest(bar="stale"), if_match='"1"'
    )
    deleted = generated("api.foo.foo_destroy").sync_detailed(foo.id, client=client, if_match='"2"')

    assert created.status_code == 201
    assert (foo.bar, foo.version) == ("generated", 1)
    assert [item.id for item in listed.results] == [foo.id]
    assert (updated.status_code, updated.parsed.bar, updated.parsed.version) == (200, "updated", 2)
    assert stale.status_code == 412
    assert deleted.status_code == 204


def test_generated_client_starts_an_import_and_reads_its_job(generated, server, user):
    _, secret = tokens.issue(user, "generated client")
    models = generated("models")
    client = generated("client").AuthenticatedClient(
        base_url=server.url, token=secret, raise_on_unexpected_status=True
    )
    with connect(
        f"ws://127.0.0.1:{server.port}/ws/notifications/",
        subprotocols=["bearer", secret],
        open_timeout=10,
    ) as socket:
        assert socket.subprotocol == "bearer"
        accepted = generated("api.foo.foo_import_create").sync_detailed(
            client=client,
            body=models.FooImportRequest.from_dict({"items": [{"bar": "a"}, {"bar": ""}]}),
        )
        job = accepted.parsed
        while json.loads(socket.recv(timeout=30))["payload"]["state"] != "succeeded":
            pass
    read = generated("api.jobs.jobs_retrieve").sync(job.id, client=client)

    assert accepted.status_code == 202
    assert accepted.headers["Location"] == f"/api/jobs/{job.id}"
    assert (job.kind.value, job.state.value) == ("foo.import", "queued")
    assert (read.id, read.state.value, read.progress.done, read.progress.total) == (
        job.id,
        "succeeded",
        2,
        2,
    )
    assert read.result["created"] == 1
    assert read.result["failed_count"] == 1
