"""The subscribable models are found among the installed ones (their checks: test_checks.py)."""

from realtime import registry


def test_installed_subscribable_models_are_registered():
    assert registry.labels() == ["api.Foo", "api.Job", "api.User"]
