from django.conf import settings
from rest_framework import exceptions, parsers, status


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, bounded: DRF reads the body as a stream, which skips Django's
    DATA_UPLOAD_MAX_MEMORY_SIZE check, so the limit is applied here."""

    limit_setting = "DATA_UPLOAD_MAX_MEMORY_SIZE"

    def parse(self, stream, media_type=None, parser_context=None):
        limit = getattr(settings, self.limit_setting)
        request = parser_context["request"]
        if int(request.META.get("CONTENT_LENGTH") or 0) > limit:
            raise RequestTooLarge(f"The request body is larger than {limit} bytes.")
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            # DRF turns only ValueErrors into a 400; a few kilobytes of `[[[[...` would be a 500.
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from error


class BulkJSONParser(JSONParser):
    """For bulk endpoints (imports), whose bodies may be larger than any other."""

    limit_setting = "IMPORT_MAX_REQUEST_BYTES"
