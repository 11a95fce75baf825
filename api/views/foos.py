from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets

from api.models import Foo
from api.schema import (
    AUTH_ERRORS,
    BODY_ERRORS,
    ETAG,
    IF_MATCH,
    IF_NONE_MATCH,
    LOCATION,
    NO_SUCH_PAGE,
    NOT_FOUND,
    NOT_MODIFIED,
    PAGE_ETAG,
    PRECONDITION_FAILED,
    UNSAFE_AUTH_ERRORS,
)
from api.serializers import FooSerializer
from api.views.mixins import VersionedMixin

WRITE = {
    "parameters": [IF_MATCH, ETAG],
    "responses": {
        200: FooSerializer,
        **BODY_ERRORS,
        **UNSAFE_AUTH_ERRORS,
        404: NOT_FOUND,
        412: PRECONDITION_FAILED,
    },
}


@extend_schema_view(
    list=extend_schema(
        parameters=[IF_NONE_MATCH, PAGE_ETAG],
        responses={
            200: FooSerializer(many=True),
            304: NOT_MODIFIED,
            **AUTH_ERRORS,
            404: NO_SUCH_PAGE,
        },
    ),
    create=extend_schema(
        parameters=[ETAG, LOCATION],
        responses={201: FooSerializer, **BODY_ERRORS, **UNSAFE_AUTH_ERRORS},
    ),
    retrieve=extend_schema(
        parameters=[IF_NONE_MATCH, ETAG],
        responses={200: FooSerializer, 304: NOT_MODIFIED, **AUTH_ERRORS, 404: NOT_FOUND},
    ),
    update=extend_schema(**WRITE),
    partial_update=extend_schema(**WRITE),
    destroy=extend_schema(
        parameters=[IF_MATCH],
        responses={
            204: None,
            **UNSAFE_AUTH_ERRORS,
            404: NOT_FOUND,
            412: PRECONDITION_FAILED,
        },
    ),
)
class FooViewSet(VersionedMixin, viewsets.ModelViewSet):
    """The caller's Foos. Anyone else's Foo does not exist for them (404)."""

    serializer_class = FooSerializer

    def get_queryset(self):
        return Foo.visible_to(self.request.user)

    def perform_create(self, serializer):
        serializer.save(owner=self.request.user)

    def get_success_headers(self, data):
        return {"Location": reverse("foo-detail", kwargs={"pk": data["id"]})}
