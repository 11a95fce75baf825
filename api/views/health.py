import asyncio
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import DatabaseError, connection
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

logger = logging.getLogger(__name__)

LAYER_TIMEOUT = 2.0

# One enum in the schema for all three fields (settings.SPECTACULAR_SETTINGS names it).
STATES = ["ok", "unavailable"]

Health = inline_serializer(
    "Health",
    {
        "status": serializers.ChoiceField(STATES),
        "database": serializers.ChoiceField(STATES),
        "channel_layer": serializers.ChoiceField(STATES),
    },
)


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return False
    return True


async def _layer_round_trip() -> None:
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "health.ping"})
    await layer.receive(channel)


def channel_layer_ok() -> bool:
    """A message sent to and received from the layer, as every event travels."""
    try:
        async_to_sync(asyncio.wait_for)(_layer_round_trip(), LAYER_TIMEOUT)
    except Exception:
        # Each layer raises its own errors (redis-py's are not OSErrors); any of them means
        # events cannot travel, which is what this reports.
        logger.exception("The channel layer is unreachable")
        return False
    return True


class HealthView(APIView):
    """For load balancers: 200 when this process can reach the database and the channel layer."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(responses={200: Health, 503: Health}, summary="Health check")
    def get(self, request):
        parts = {
            "database": "ok" if database_ok() else "unavailable",
            "channel_layer": "ok" if channel_layer_ok() else "unavailable",
        }
        healthy = all(value == "ok" for value in parts.values())
        return Response(
            {"status": "ok" if healthy else "unavailable", **parts},
            status=status.HTTP_200_OK if healthy else status.HTTP_503_SERVICE_UNAVAILABLE,
        )
