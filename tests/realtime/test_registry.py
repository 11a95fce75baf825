"""A half-declared subscribable model stops the start-up with a message that names the fix."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from model_utils import FieldTracker

from realtime import registry
from realtime.audiences import Owner
from realtime.mixins import Representation, Subscribable


# Abstract, so that they join no app registry; a tracker is set after the class is built,
# since FieldTracker only finishes on concrete models.
class Meta:
    abstract = True
    app_label = "realtime"


class WithoutTracker(Subscribable):
    realtime_representations = (Representation("api.serializers.FooSerializer", Owner()),)
    Meta = Meta


class WithoutRepresentations(Subscribable):
    Meta = Meta


class WithoutPublicId(Subscribable):
    realtime_representations = (Representation("api.serializers.LoginSerializer", Owner()),)
    Meta = Meta


WithoutRepresentations.tracker = FieldTracker(fields=["version"])
WithoutPublicId.tracker = FieldTracker(fields=["version"])


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (WithoutTracker, "has no FieldTracker: declare `tracker = FieldTracker("),
        (WithoutRepresentations, "declares no realtime_representations"),
        (WithoutPublicId, "has no `id` field: subscriptions decode public ids with it."),
    ],
)
def test_misconfigured_model_is_refused(model, message):
    with pytest.raises(ImproperlyConfigured, match=message.replace("(", r"\(")):
        registry.check(model)


def test_installed_subscribable_models_are_registered():
    assert registry.labels() == ["api.Foo", "api.Job", "api.User"]
