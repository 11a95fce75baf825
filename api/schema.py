"""Reusable OpenAPI pieces: the error bodies every endpoint can answer with."""

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

Detail = inline_serializer("Detail", {"detail": serializers.CharField()})
FieldErrors = inline_serializer(
    "FieldErrors",
    {
        "non_field_errors": serializers.ListField(child=serializers.CharField(), required=False),
    },
)

NOT_AUTHENTICATED = OpenApiResponse(Detail, description="Not logged in, or no CSRF token.")
NOT_FOUND = OpenApiResponse(Detail, description="No such object, or not yours (the same to you).")
INVALID = OpenApiResponse(
    FieldErrors, description="Invalid input: a list of messages per field name."
)
PRECONDITION_FAILED = OpenApiResponse(Detail, description="If-Match is stale.")
TOO_LARGE = OpenApiResponse(Detail, description="The request body is too large.")
