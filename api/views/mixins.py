from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.http import parse_etags, quote_etag
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, status
from rest_framework.permissions import SAFE_METHODS

from api import hashids

IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="An ETag from a previous response; the request fails with 412 if it is stale.",
)


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The object has changed since you read it; fetch it again."
    default_code = "precondition_failed"


class HashidLookupMixin:
    """Objects are addressed by hashid; one that does not decode is as absent as an unknown one."""

    def get_object(self):
        pk = hashids.decode(self.get_queryset().model, self.kwargs[self.lookup_field])
        if pk is None:
            raise Http404
        queryset = self.filter_queryset(self.get_queryset())
        if self.request.method not in SAFE_METHODS:
            queryset = queryset.select_for_update()
        obj = get_object_or_404(queryset, pk=pk)
        self.check_object_permissions(self.request, obj)
        return obj


def etag(version: int) -> str:
    return quote_etag(str(version))


class VersionedMixin(HashidLookupMixin):
    """ETag from `version`, and If-Match checked under a row lock, so that two clients editing
    the same object cannot overwrite each other."""

    def get_object(self):
        obj = super().get_object()
        if_match = self.request.headers.get("If-Match")
        if self.request.method not in SAFE_METHODS and if_match is not None:
            tags = parse_etags(if_match)
            if "*" not in tags and etag(obj.version) not in tags:
                raise PreconditionFailed
        return obj

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if self.detail and response.status_code in (200, 201):
            response["ETag"] = etag(response.data["version"])
        return response

    @transaction.atomic
    def update(self, request, *args, **kwargs):
        return super().update(request, *args, **kwargs)

    @transaction.atomic
    def destroy(self, request, *args, **kwargs):
        return super().destroy(request, *args, **kwargs)
