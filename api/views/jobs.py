from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from api.jobs import runner
from api.models import Job
from api.schema import AUTH_ERRORS, NOT_FOUND, UNSAFE_AUTH_ERRORS, Detail
from api.serializers import JobSerializer
from api.views.mixins import HashidLookupMixin


class JobFinished(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The job has already finished; there is nothing to cancel."
    default_code = "finished"


FINISHED = OpenApiResponse(Detail, description="The job has already finished.")


@extend_schema_view(
    list=extend_schema(responses={200: JobSerializer(many=True), **AUTH_ERRORS}),
    retrieve=extend_schema(responses={200: JobSerializer, **AUTH_ERRORS, 404: NOT_FOUND}),
)
class JobViewSet(
    HashidLookupMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The caller's background jobs, newest first. Anyone else's job does not exist for them.

    Every socket of the owner receives each job's UPDATE_JOB events without subscribing."""

    serializer_class = JobSerializer

    def get_queryset(self):
        return Job.visible_to(self.request.user)

    @extend_schema(
        request=None,
        responses={202: JobSerializer, **UNSAFE_AUTH_ERRORS, 404: NOT_FOUND, 409: FINISHED},
        summary="Cancel a job",
    )
    @action(detail=True, methods=["post"])
    @transaction.atomic
    def cancel(self, request, pk=None):
        """A queued job is cancelled at once; a running one stops at its next progress report
        and ends `cancelled`. 409 if the job has already finished."""
        try:
            job = runner.cancel(self.get_object().pk)
        except runner.AlreadyFinished:
            raise JobFinished from None
        return Response(self.get_serializer(job).data, status=status.HTTP_202_ACCEPTED)
