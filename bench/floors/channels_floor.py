"""Floor 2: the benchmark's protocol as a bare Channels app on Daphne, Channels' usual pattern.

Every socket adds its own channel to the group of each object it follows; a PATCH is one
`group_send`, which the layer turns into one message per socket, each dispatched to its consumer.
No database, no auth, no access checks. Same layer as ours: CHANNEL_LAYERS is backend/settings.py's
own (in memory, or Redis when REDIS_URL is set), read from that module so the two cannot drift.

    daphne -p PORT bench.floors.channels_floor:application
"""

import json

import django
from django.conf import settings

from backend import settings as ours

if not settings.configured:
    settings.configure(INSTALLED_APPS=["channels"], CHANNEL_LAYERS=ours.CHANNEL_LAYERS)
    django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from channels.routing import ProtocolTypeRouter, URLRouter
from django.urls import path

from bench.floors import protocol

objects = protocol.Objects()


class FloorConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.following: set[str] = set()
        await self.accept()

    async def disconnect(self, code):
        for group in self.following:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        key, reply = objects.subscribe(json.loads(text_data))
        group = protocol.group_name(key)
        if group not in self.following:
            self.following.add(group)
            await self.channel_layer.group_add(group, self.channel_name)
        if reply is not None:
            await self.send(text_data=reply)

    async def floor_event(self, event):
        await self.send(text_data=event["text"])


async def deliver(key: str, text: str) -> None:
    await get_channel_layer().group_send(
        protocol.group_name(key), {"type": "floor.event", "text": text}
    )


application = ProtocolTypeRouter(
    {
        "http": protocol.http_app(objects, deliver),
        "websocket": URLRouter([path("ws/notifications/", FloorConsumer.as_asgi())]),
    }
)
