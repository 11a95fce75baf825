"""Reusable OpenAPI pieces: the error bodies every endpoint can answer with, and the headers."""

from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerExtension,
)
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    inline_serializer,
)
from rest_framework import serializers

Detail = inline_serializer("Detail", {"detail": serializers.CharField()})


class FieldErrorsSerializer(serializers.Serializer):
    """Documentation only: DRF's validation errors, a list of messages per field name."""


class FieldErrorsExtension(OpenApiSerializerExtension):
    """The field names of an error body are the request's, so it is a map, not fixed properties.

    Its values being lists also tells it apart from `Detail` in `Invalid`'s oneOf.
    """

    target_class = FieldErrorsSerializer

    def get_name(self, auto_schema, direction):
        return "FieldErrors"

    def map_serializer(self, auto_schema, direction):
        return {
            "type": "object",
            "description": "Messages per field name; `non_field_errors` for the body as a whole.",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        }


class ClosedSerializerExtension(OpenApiSerializerExtension):
    """The public profile lists all its properties, so that `AnyUser`'s oneOf can tell it from the
    full profile (which would otherwise match both)."""

    target_class = "api.serializers.PublicUserSerializer"

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        return {**schema, "additionalProperties": False}


Invalid = PolymorphicProxySerializer(
    "Invalid",
    serializers=[FieldErrorsSerializer, Detail],
    resource_type_field_name=None,
)

NOT_AUTHENTICATED = OpenApiResponse(
    Detail,
    description="No credentials, or a malformed, unknown, revoked or expired token "
    "(with `WWW-Authenticate: Bearer`).",
)
CSRF_FAILED = OpenApiResponse(Detail, description="A session cookie without its CSRF token.")
NOT_FOUND = OpenApiResponse(Detail, description="No such object, or not yours (the same to you).")
INVALID = OpenApiResponse(
    Invalid, description="Invalid input: messages per field name, or a `detail` for bad JSON."
)
NO_SUCH_PAGE = OpenApiResponse(Detail, description="No such page: `page` is out of range.")
PRECONDITION_FAILED = OpenApiResponse(Detail, description="If-Match is stale.")
NOT_MODIFIED = OpenApiResponse(description="If-None-Match names the current ETag: no body.")
TOO_LARGE = OpenApiResponse(Detail, description="The request body is too large.")
UNSUPPORTED_MEDIA_TYPE = OpenApiResponse(Detail, description="The body is not `application/json`.")

# The errors of any request with a body, besides those of its view.
BODY_ERRORS = {400: INVALID, 413: TOO_LARGE, 415: UNSUPPORTED_MEDIA_TYPE}
# The authentication errors of a safe request, and of an unsafe one (CSRF guards cookies only).
AUTH_ERRORS = {401: NOT_AUTHENTICATED}
UNSAFE_AUTH_ERRORS = {401: NOT_AUTHENTICATED, 403: CSRF_FAILED}


def write_errors(forbidden: str) -> dict:
    """The errors of a request with a body whose view refuses it for a reason of its own too:
    `forbidden` describes its 403, which also answers a missing CSRF token."""
    return {
        **BODY_ERRORS,
        401: NOT_AUTHENTICATED,
        403: OpenApiResponse(Detail, description=forbidden),
    }


def header(name: str, description: str, response: list[int] | bool = False) -> OpenApiParameter:
    """A string header of the request, or of the responses with the statuses in `response`."""
    return OpenApiParameter(
        name, OpenApiTypes.STR, OpenApiParameter.HEADER, description=description, response=response
    )


IF_MATCH = header(
    "If-Match", "An ETag from a previous response; the request fails with 412 if it is stale."
)
IF_NONE_MATCH = header(
    "If-None-Match",
    "An ETag from a previous response; the answer is 304 with no body while it is current.",
)
ETAG = header(
    "ETag",
    "The object's version; send it back as If-Match to change the object, or as If-None-Match "
    "to read it only if it changed.",
    response=[200, 201, 304],
)
PAGE_ETAG = header(
    "ETag",
    "A hash of the page; send it back as If-None-Match to read it only if it changed.",
    response=[200, 304],
)
LOCATION = header("Location", "The new object's URL.", response=[201])


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """`Authorization: Bearer <token>` with a personal API token (`POST /api/auth/tokens`)."""

    target_class = "api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token from `POST /api/auth/tokens`. No CSRF token "
            "is needed.",
        }
