"""Note: realtime's own subscribable model, so that realtime's tests need nothing from `api`.

It lives in an app registry of its own (`isolate_apps`), so the project never sees it: it is not
subscribable, has no table and no migration, and `manage.py check` does not know it. A test that
needs it subscribable puts it in `realtime.registry` for its own duration.
"""

from django.contrib.auth import get_user_model
from django.db import models
from django.test.utils import isolate_apps
from model_utils import FieldTracker
from rest_framework import serializers

from realtime.audiences import Owner
from realtime.mixins import Representation, Subscribable

with isolate_apps():

    class Note(Subscribable):
        owner = models.ForeignKey(get_user_model(), on_delete=models.CASCADE, related_name="+")
        text = models.CharField(max_length=100)

        tracker = FieldTracker(fields=["text"])
        realtime_representations = (
            Representation("tests.realtime.notes.NoteSerializer", audience=Owner("owner")),
        )

        class Meta:
            app_label = "notes"


class NoteSerializer(serializers.ModelSerializer):
    # ModelSerializer's own `id`: the primary key as it is, which decodes what it renders.
    class Meta:
        model = Note
        fields = ["id", "text", "version"]
