"""Health for load balancers and orchestrators: `/api/health` (the original check, kept as it
is), `/api/health/live` (the process answers) and `/api/health/ready` (it can serve: the named
checks in READINESS_CHECKS, plus how long the oldest queued job has waited for a worker).

The views are coroutines, run on the server's event loop, with the database's work in a thread
(sync_to_async). A sync view would have to hop back to the loop for the channel layer
(async_to_sync) and park its thread until the loop answered: a check still in flight when a
stopping Daphne's loop ends (the load balancer keeps asking while Daphne waits for its requests
in flight) would then wait forever, and so would the process, whose exit joins that thread.
"""

import asyncio
import inspect
import logging

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import DatabaseError, connection
from django.db.models import Min
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from realtime import hub
from realtime.draining import draining

logger = logging.getLogger(__name__)

LAYER_TIMEOUT = 2.0

# One enum in the schema for every check (settings.SPECTACULAR_SETTINGS names it).
STATES = ["ok", "unavailable"]


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return False
    return True


async def _layer_round_trip() -> None:
    layer = get_channel_layer()
    # A prefix of its own: channels-redis reads a process's channels of one prefix through one
    # key, and this read would take the hub's events from it (RedisChannelLayer.receive_many).
    channel = await layer.new_channel(prefix="health")
    await layer.send(channel, {"type": "health.ping"})
    await layer.receive(channel)
    # A sharded Redis layer (several URLs in REDIS_URL) keeps each group on one of its servers,
    # and the round trip above reaches only one: every server must answer. (The in-memory
    # layer has no shards.)
    for index in range(getattr(layer, "ring_size", 0)):
        await layer.connection(index).ping()


async def channel_layer_ok() -> bool:
    """A message sent to and received from the layer, as every event travels."""
    try:
        await asyncio.wait_for(_layer_round_trip(), LAYER_TIMEOUT)
    except Exception:
        # Each layer raises its own errors (redis-py's are not OSErrors); any of them means
        # events cannot travel, which is what this reports.
        logger.exception("The channel layer is unreachable")
        return False
    return True


def oldest_queued_job_age() -> float | None:
    """Seconds the oldest task due to run has waited in django-tasks-db's queue (the source of
    truth: a job queued again after its worker died gets a new task), None when none waits or
    the database cannot say. Growing without bound, it means no worker is taking jobs."""
    try:
        oldest = DBTaskResult.objects.ready().aggregate(oldest=Min("enqueued_at"))["oldest"]
    except DatabaseError:
        return None
    return None if oldest is None else round((timezone.now() - oldest).total_seconds(), 1)


async def accepting() -> bool:
    """False from SIGTERM on, while the process drains its sockets (realtime.draining)."""
    return not draining()


async def hub_receiving() -> bool:
    """This process's hub hears every event (realtime.hub.receiving), asked on its loop."""
    return hub.receiving()


# Each check, awaited: the database's in a thread, the others on the loop.
HEALTH_CHECKS = {
    "database": sync_to_async(database_ok),
    "channel_layer": channel_layer_ok,
}

# What a process needs to serve a request or a socket, each answered "ok" or "unavailable".
READINESS_CHECKS = {"accepting": accepting, **HEALTH_CHECKS, "hub": hub_receiving}


async def run_checks(checks: dict) -> tuple[bool, dict]:
    """Every check at once: a slow one costs its own wait, not the sum."""
    answers = await asyncio.gather(*(check() for check in checks.values()))
    parts = {
        name: "ok" if answer else "unavailable"
        for name, answer in zip(checks, answers, strict=True)
    }
    healthy = all(value == "ok" for value in parts.values())
    return healthy, {"status": "ok" if healthy else "unavailable", **parts}


def availability(healthy: bool) -> int:
    return status.HTTP_200_OK if healthy else status.HTTP_503_SERVICE_UNAVAILABLE


Health = inline_serializer(
    "Health",
    {
        "status": serializers.ChoiceField(STATES),
        "database": serializers.ChoiceField(STATES),
        "channel_layer": serializers.ChoiceField(STATES),
    },
)

Liveness = inline_serializer("Liveness", {"status": serializers.ChoiceField(["ok"])})

Readiness = inline_serializer(
    "Readiness",
    {
        "status": serializers.ChoiceField(STATES),
        **{name: serializers.ChoiceField(STATES) for name in READINESS_CHECKS},
        "oldest_queued_job_age": serializers.FloatField(
            allow_null=True,
            help_text="Seconds the oldest job due to run has waited for a worker; null when "
            "none waits (or the database is unavailable).",
        ),
    },
)


class ProbeView(APIView):
    """Answers anyone, without a session: load balancers do not log in.

    Its handlers are coroutines. DRF 3.16 dispatches synchronously only, so this is DRF's
    `dispatch`, awaiting the handler; everything else it runs (no authentication, AllowAny, no
    throttle) is quick work without I/O, which runs on the loop as it is. (adrf's async APIView
    would run it in a thread that hops back to the loop for its throttles, which is what these
    views must not do.)"""

    permission_classes = [AllowAny]
    authentication_classes = []

    async def dispatch(self, request, *args, **kwargs):
        self.args = args
        self.kwargs = kwargs
        request = self.initialize_request(request, *args, **kwargs)
        self.request = request
        self.headers = self.default_response_headers
        try:
            self.initial(request, *args, **kwargs)
            handler = self.http_method_not_allowed
            if request.method.lower() in self.http_method_names:
                handler = getattr(self, request.method.lower(), handler)
            response = handler(request, *args, **kwargs)
            # OPTIONS is DRF's own handler, which answers at once.
            if inspect.isawaitable(response):
                response = await response
        except Exception as exc:
            response = self.handle_exception(exc)
        self.response = self.finalize_response(request, response, *args, **kwargs)
        return self.response


class HealthView(ProbeView):
    """For load balancers: 200 when this process can reach the database and the channel layer."""

    @extend_schema(responses={200: Health, 503: Health}, summary="Health check")
    async def get(self, request):
        healthy, body = await run_checks(HEALTH_CHECKS)
        return Response(body, status=availability(healthy))


class LivenessView(ProbeView):
    """200 whenever the process answers at all: restart it when this fails, and only then."""

    @extend_schema(responses={200: Liveness}, summary="Liveness: the process answers")
    async def get(self, request):
        return Response({"status": "ok"})


class ReadinessView(ProbeView):
    """200 when this process can serve (every check in READINESS_CHECKS), else 503: a load
    balancer sends it no traffic meanwhile. The queue's age is reported, not checked: a dead
    worker fleet does not make a web process unfit to serve."""

    @extend_schema(responses={200: Readiness, 503: Readiness}, summary="Readiness: it can serve")
    async def get(self, request):
        healthy, body = await run_checks(READINESS_CHECKS)
        body["oldest_queued_job_age"] = await sync_to_async(oldest_queued_job_age)()
        return Response(body, status=availability(healthy))
