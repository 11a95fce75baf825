from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response

from api.jobs.tasks import submit
from api.models import Job
from api.parsers import BulkJSONParser
from api.schema import BODY_ERRORS, UNSAFE_AUTH_ERRORS, header
from api.serializers import FooImportSerializer, JobSerializer

JOB_LOCATION = header("Location", "The job's URL.", response=[202])


class FooImportView(generics.GenericAPIView):
    """Creates Foos in bulk, in the background: answers 202 with the job that does it.

    The job's result is `{"created": n, "failed": [{"index", "errors"}], "failed_count": n}`;
    an invalid item does not stop the import."""

    serializer_class = FooImportSerializer
    parser_classes = [BulkJSONParser]

    @extend_schema(
        parameters=[JOB_LOCATION],
        responses={202: JobSerializer, **BODY_ERRORS, **UNSAFE_AUTH_ERRORS},
        summary="Import Foos",
    )
    def post(self, request):
        envelope = self.get_serializer(data=request.data)
        envelope.is_valid(raise_exception=True)
        items = envelope.validated_data["items"]
        job = submit(Job.Kind.FOO_IMPORT, request.user, {"items": items}, total=len(items))
        body = JobSerializer(job).data
        location = reverse("job-detail", kwargs={"pk": body["id"]})
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": location})
