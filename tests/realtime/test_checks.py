"""`manage.py check` lists every mistake of a subscribable model, each with its fix."""

import pytest
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import models
from django.test.utils import isolate_apps
from model_utils import FieldTracker
from rest_framework import serializers

from realtime import registry
from realtime.audiences import Authenticated, Owner
from realtime.mixins import Representation, Subscribable
from tests.realtime.notes import Note


class WithoutId(serializers.ModelSerializer):
    class Meta:
        model = Note
        fields = ["text"]


class PrimaryKeyAsText(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)

    class Meta:
        model = Note
        fields = ["id", "text"]


class RenderOnly(serializers.ModelSerializer):
    id = serializers.ReadOnlyField()

    class Meta:
        model = Note
        fields = ["id", "text"]


def represented_by(serializer: str, audience=None) -> tuple[Representation, ...]:
    return (Representation(f"{__name__}.{serializer}", audience=audience or Owner("owner")),)


def declare(name: str = "Draft", **declarations) -> type[Subscribable]:
    """A subscribable model like Note, with `declarations` over Note's, in a registry of its own."""
    body = {
        "__module__": __name__,
        "Meta": type("Meta", (), {"app_label": "notes"}),
        "tracker": FieldTracker(fields=["version"]),
        "realtime_representations": Note.realtime_representations,
        **declarations,
    }
    with isolate_apps():
        return type(name, (Subscribable,), body)


@pytest.fixture
def subscribable(monkeypatch):
    """Makes `models` the subscribable ones for the test, as if they were installed."""

    def subscribable(*models):
        monkeypatch.setattr(registry, "_models", {model._meta.label: model for model in models})

    return subscribable


def realtime_errors() -> list[checks.CheckMessage]:
    return checks.run_checks(tags=["realtime"])


def test_a_well_declared_model_passes(subscribable):
    subscribable(Note)
    assert realtime_errors() == []


def test_a_model_without_a_tracker_is_reported(subscribable):
    model = declare(tracker=None)
    subscribable(model)
    [error] = realtime_errors()
    assert (error.id, error.obj) == ("realtime.E001", model)
    assert "`tracker = FieldTracker(fields=[...])`" in error.hint


def test_a_model_without_representations_is_reported(subscribable):
    subscribable(declare(realtime_representations=()))
    [error] = realtime_errors()
    assert error.id == "realtime.E002"
    assert "`realtime_representations = (Representation(" in error.hint


def test_a_representation_without_an_id_field_is_reported(subscribable):
    subscribable(declare(realtime_representations=represented_by("WithoutId")))
    [error] = realtime_errors()
    assert error.id == "realtime.E003"
    assert error.msg == "The representation WithoutId has no `id` field."
    assert "Add the model's public id field as `id`" in error.hint


@pytest.mark.parametrize(
    ("serializer", "decoded"),
    [
        ("PrimaryKeyAsText", "comes back as '1'."),
        ("RenderOnly", "comes back as NotImplementedError("),
    ],
)
def test_an_id_field_that_does_not_decode_what_it_renders_is_reported(
    subscribable, serializer, decoded
):
    subscribable(declare(realtime_representations=represented_by(serializer)))
    [error] = realtime_errors()
    assert error.id == "realtime.E004"
    assert decoded in error.msg
    assert "to_internal_value(str(to_representation(pk))) == pk" in error.hint


def test_a_feed_whose_first_audience_names_no_users_is_reported(subscribable):
    everyone = (Representation("tests.realtime.notes.NoteSerializer", Authenticated()),)
    subscribable(declare(realtime_feed=True, realtime_representations=everyone))
    [error] = realtime_errors()
    assert error.id == "realtime.E005"
    assert "whose first audience, Authenticated(), names no users" in error.msg
    assert "Put an audience that names users first (`Owner(<field>)`, `Itself()`)" in error.hint


def test_a_collection_whose_audience_reads_an_untracked_field_is_reported(subscribable):
    subscribable(declare(realtime_collection=True))
    [error] = realtime_errors()
    assert error.id == "realtime.E010"
    assert "whose audience Owner reads untracked fields: owner" in error.msg
    assert "would not tell who lost access" in error.msg
    assert error.hint == "Add 'owner' to the model's FieldTracker(fields=[...])."


def test_a_default_manager_without_subscribable_queryset_is_reported(subscribable):
    subscribable(declare(objects=models.Manager()))
    [error] = realtime_errors()
    assert error.id == "realtime.E006"
    assert "`objects = SubscribableQuerySet.as_manager()`" in error.hint


def test_a_serializer_that_does_not_import_is_reported(subscribable):
    subscribable(declare(realtime_representations=represented_by("Missing")))
    [error] = realtime_errors()
    assert error.id == "realtime.E007"
    assert f'does not import: Module "{__name__}" does not define' in error.msg
    assert "dotted path" in error.hint


def test_every_mistake_of_every_model_is_listed_at_once(subscribable):
    subscribable(
        declare(
            "Sloppy",
            tracker=None,
            objects=models.Manager(),
            realtime_feed=True,
            realtime_collection=True,  # untracked owner: E001 says it, E010 need not
            realtime_representations=(
                *represented_by("RenderOnly", audience=Authenticated()),
                *represented_by("WithoutId"),
            ),
        ),
        declare("Bare", realtime_representations=()),
    )
    with pytest.raises(SystemCheckError) as raised:
        call_command("check")
    report = str(raised.value)
    for mistake in ["E001", "E003", "E004", "E005", "E006"]:
        assert f"notes.Sloppy: (realtime.{mistake})" in report
    assert "notes.Bare: (realtime.E002)" in report
    assert "System check identified 6 issues" in report


def realtime_error_ids() -> list[str]:
    return [error.id for error in checks.run_checks() if error.id.startswith("realtime.")]


def test_default_settings_pass_the_checks():
    assert realtime_error_ids() == []


def test_sessions_outside_the_database_are_refused(settings):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    assert realtime_error_ids() == ["realtime.E008"]


def test_backend_that_reads_users_otherwise_is_refused(settings):
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.BaseBackend"]
    assert realtime_error_ids() == ["realtime.E009"]
