"""The subscribable models, found among the installed models at start-up."""

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from model_utils import FieldTracker

from realtime.mixins import Subscribable

_models: dict[str, type[Subscribable]] = {}


def discover() -> None:
    """Register every concrete Subscribable model; a half-declared one stops the start-up."""
    _models.clear()
    for model in apps.get_models():
        if issubclass(model, Subscribable):
            check(model)
            _models[model._meta.label] = model


def check(model) -> None:
    label = model._meta.label
    if not isinstance(getattr(model, "tracker", None), FieldTracker):
        raise ImproperlyConfigured(
            f"{label} is Subscribable but has no FieldTracker: declare "
            "`tracker = FieldTracker(fields=[...])` with the fields whose changes are events."
        )
    if not model.realtime_representations:
        raise ImproperlyConfigured(
            f"{label} is Subscribable but declares no realtime_representations: add at least "
            "`realtime_representations = (Representation(<serializer>, audience=<Audience>),)`."
        )
    for representation in model.realtime_representations:
        if "id" not in representation.serializer_class().fields:
            raise ImproperlyConfigured(
                f"{representation.serializer_class.__name__}, a representation of {label}, has "
                "no `id` field: subscriptions decode public ids with it."
            )


def get(label: str) -> type[Subscribable] | None:
    return _models.get(label)


def labels() -> list[str]:
    return sorted(_models)
