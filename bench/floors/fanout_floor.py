"""Floor 3, the Daphne local fan-out floor (issue 14): the benchmark's protocol as a bare Channels
consumer on Daphne, with no channel layer.

Every socket is registered in the process under each object it follows. A PATCH encodes its
frame once and hands the same pre-encoded `websocket.send` message to each of the object's
sockets with `base_send`, Daphne's own send: no group, no layer, no per-socket dispatch or
encode. What it costs is what Daphne itself costs to write one frame to local sockets, the least
a fan-out of ours, on Daphne, can cost.

    daphne -p PORT bench.floors.fanout_floor:application
"""

import json

import django
from django.conf import settings

if not settings.configured:
    settings.configure(INSTALLED_APPS=["channels"], CHANNEL_LAYERS={})
    django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer
from channels.routing import ProtocolTypeRouter, URLRouter
from django.urls import path

from bench.floors import protocol

# Every object's local sockets (their consumers), by object key.
objects = protocol.Objects()


class FanoutConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.following: set[str] = set()
        await self.accept()

    async def disconnect(self, code):
        for key in self.following:
            objects.members(key).discard(self)

    async def receive(self, text_data=None, bytes_data=None):
        key, reply = objects.subscribe(json.loads(text_data))
        self.following.add(key)
        objects.members(key).add(self)
        if reply is not None:
            await self.send(text_data=reply)


async def deliver(key: str, text: str) -> None:
    message = {"type": "websocket.send", "text": text}
    # A copy: a socket that closes meanwhile leaves the set.
    for consumer in list(objects.members(key)):
        await consumer.base_send(message)


application = ProtocolTypeRouter(
    {
        "http": protocol.http_app(objects, deliver),
        "websocket": URLRouter([path("ws/notifications/", FanoutConsumer.as_asgi())]),
    }
)
