from django.db.models import Model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api import hashids


@extend_schema_field({"type": "string", "example": "jR4nVq8w"})
class HashidField(serializers.Field):
    """A primary key (or a foreign key) shown and accepted as the model's hashid."""

    default_error_messages = {"invalid": "Not a valid {model} id."}

    def __init__(self, model: type[Model], **kwargs):
        self.model = model
        super().__init__(**kwargs)

    def to_representation(self, value):
        return hashids.encode(self.model, value if isinstance(value, int) else value.pk)

    def to_internal_value(self, data):
        pk = hashids.decode(self.model, data)
        if pk is None:
            self.fail("invalid", model=self.model._meta.verbose_name)
        return pk
