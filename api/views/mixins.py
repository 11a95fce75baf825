from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.http import parse_etags, quote_etag
from rest_framework import exceptions, status

from api import hashids


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The object has changed since you read it; fetch it again."
    default_code = "precondition_failed"


class HashidLookupMixin:
    """Objects are addressed by hashid; one that does not decode is as absent as an unknown one."""

    # Any path segment reaches the view, so that a malformed id gets the API's JSON 404 rather
    # than Django's HTML page (the router's default refuses dots).
    lookup_value_regex = "[^/]+"

    def get_object(self):
        queryset = self.get_lookup_queryset()
        pk = hashids.decode(queryset.model, self.kwargs[self.lookup_field])
        if pk is None:
            raise Http404
        obj = get_object_or_404(queryset, pk=pk)
        self.check_object_permissions(self.request, obj)
        return obj

    def get_lookup_queryset(self):
        return self.filter_queryset(self.get_queryset())


def etag(version: int) -> str:
    return quote_etag(str(version))


class RowLockMixin(HashidLookupMixin):
    """Writes read the object under a row lock in one transaction with the save, so that two
    concurrent edits of one object apply one after the other and its `version` counts both."""

    # Keyed on the action, not the method: OPTIONS looks the object up as a PUT, outside one.
    write_actions = frozenset({"update", "partial_update", "destroy"})

    def get_lookup_queryset(self):
        queryset = super().get_lookup_queryset()
        return queryset.select_for_update() if self.action in self.write_actions else queryset

    @transaction.atomic
    def update(self, request, *args, **kwargs):
        return super().update(request, *args, **kwargs)

    @transaction.atomic
    def destroy(self, request, *args, **kwargs):
        return super().destroy(request, *args, **kwargs)


class VersionedMixin(RowLockMixin):
    """ETag from `version`, and If-Match checked under the row lock, so that two clients editing
    the same object cannot overwrite each other. A GET with a current If-None-Match gets 304 from
    Django's ConditionalGetMiddleware, which honours this ETag."""

    # Their 200/201 body is the object, whose version is the ETag.
    etag_actions = frozenset({"create", "retrieve", "update", "partial_update"})

    def get_object(self):
        obj = super().get_object()
        if_match = self.request.headers.get("If-Match")
        if self.action in self.write_actions and if_match is not None:
            tags = parse_etags(if_match)
            if "*" not in tags and etag(obj.version) not in tags:
                raise PreconditionFailed
        return obj

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if self.action in self.etag_actions and response.status_code in (200, 201):
            response["ETag"] = etag(response.data["version"])
        return response
