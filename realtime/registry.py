"""The subscribable models, found among the installed models at start-up."""

from django.apps import apps

from realtime.mixins import Subscribable

_models: dict[str, type[Subscribable]] = {}


def discover() -> None:
    """Register every concrete Subscribable model; `realtime.checks` reports a half-declared one."""
    _models.clear()
    for model in apps.get_models():
        if issubclass(model, Subscribable):
            _models[model._meta.label] = model


def get(label: str) -> type[Subscribable] | None:
    return _models.get(label)


def labels() -> list[str]:
    return sorted(_models)
