import asyncio
import json
import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from realtime import errors, notifications
from realtime.close_codes import CloseCode
from realtime.conf import realtime_setting
from realtime.draining import draining
from realtime.hub import get_hub
from realtime.metrics import EVENTS_DELIVERED, SOCKETS_REFUSED, SUBSCRIPTIONS
from realtime.serializers import SubscriptionSerializer
from realtime.sessions import get_watcher
from realtime.sockets import open_sockets
from realtime.throttling import TokenBucket


class NotificationsConsumer(AsyncWebsocketConsumer):
    """`ws/notifications/`: subscribe to objects, receive their events.

    The consumer glues the pieces: the serializer validates a message, the model's audiences
    decide visibility, the hub delivers events, `realtime.notifications` shapes them.
    """

    # No channel of its own: the process's hub receives for every socket, so a socket costs no
    # channel-layer receive of its own.
    channel_layer_alias = None

    async def connect(self):
        self.subscriptions: dict[str, str] = {}
        # Events that arrive while a subscription's snapshot is read, by group.
        self.pending: dict[str, list] = {}
        self.throttle = TokenBucket(
            realtime_setting("THROTTLE_BURST"), realtime_setting("THROTTLE_RATE")
        )
        self.hub = None
        user = self.scope["user"]
        self.user_pk = user.pk if user.is_authenticated else None
        # Accepted, then closed: a refused handshake would reach the client as 1006, without
        # the code that tells it why and when to come back.
        refusal = (
            CloseCode.SERVICE_RESTART if draining() else open_sockets().admit(self, self.user_pk)
        )
        if refusal is not None:
            SOCKETS_REFUSED.labels(int(refusal)).inc()
            await self.accept()
            return await self.close(refusal)
        if not user.is_authenticated:
            return await self.accept()
        self.session_key = self.scope["session"].session_key
        expiry = await database_sync_to_async(self.scope["session"].get_expiry_date)()
        self.hub = get_hub()
        self.sessions = get_watcher()
        self.session_timer = asyncio.get_running_loop().call_later(
            expiry.timestamp() - time.time(), self.session_expired
        )
        # Joined before the handshake completes, so that nothing committed after the client
        # sees the socket open is missed; what arrives before is held until then.
        for group in self.own_groups():
            self.pending[group] = []
            await self.hub.join(group, self)
        await self.accept()
        for group in self.own_groups():
            await self.release(group)
        # Whatever else ends the session, the process's watcher notices within its interval.
        self.sessions.watch(self)

    def own_groups(self) -> list[str]:
        """The groups every socket of an authenticated user is in, subscribed or not."""
        return [
            notifications.user_group(self.user_pk),
            notifications.session_group(self.session_key),
        ]

    async def disconnect(self, code):
        await self.detach()
        open_sockets().remove(self, self.user_pk)

    async def close(self, code: CloseCode, reason=None):
        await self.detach()
        # A plain int: autobahn refuses any other type of close code, an IntEnum included.
        await super().close(int(code), reason)

    def session_expired(self) -> None:
        self.closing = asyncio.ensure_future(self.close(CloseCode.LOGGED_OUT))

    async def detach(self):
        if self.hub is not None:
            self.session_timer.cancel()
            self.sessions.forget(self)
            hub, self.hub = self.hub, None
            for group in [*self.subscriptions, *self.own_groups()]:
                await hub.leave(group, self)
            SUBSCRIPTIONS.dec(len(self.subscriptions))
            self.subscriptions.clear()

    async def receive(self, text_data=None, bytes_data=None):
        size = len(text_data.encode()) if text_data is not None else len(bytes_data)
        if size > realtime_setting("MAX_MESSAGE_BYTES"):
            return await self.close(CloseCode.MESSAGE_TOO_BIG)
        request_id = None
        try:
            if not self.throttle.take():
                raise errors.Throttled
            if text_data is None:
                raise errors.ParseError("Send JSON text frames, not binary.")
            try:
                content = json.loads(text_data)
            except ValueError:
                raise errors.ParseError from None
            if not isinstance(content, dict):
                raise errors.Invalid("Send a JSON object.")
            message = SubscriptionSerializer(data=content)
            if not message.is_valid():
                # Echo the request id when it is itself valid, so the client can match the error.
                if "request_id" not in message.errors:
                    request_id = content.get("request_id")
                raise errors.Invalid(errors=message.errors)
            request = message.validated_data
            request_id = request.get("request_id")
            if self.hub is None:
                raise errors.NotAuthenticated
            if request["action"] == "unsubscribe":
                await self.unsubscribe(request)
            else:
                await self.subscribe(request)
        except errors.SocketError as error:
            await self.send_error(error, request_id)

    async def subscribe(self, request):
        model, pk, request_id = request["model"], request["pk"], request.get("request_id")
        group = notifications.group_name(model, pk)
        if group not in self.subscriptions:
            if len(self.subscriptions) >= realtime_setting("MAX_SUBSCRIPTIONS"):
                raise errors.TooManySubscriptions
            # Join before reading, and hold back what arrives meanwhile: an event committed
            # after the read is replayed, one committed before it is dropped as older.
            self.subscriptions[group] = request["id"]
            SUBSCRIPTIONS.inc()
            self.pending[group] = []
            await self.hub.join(group, self)
        snapshot = await self.snapshot(model, pk)
        if snapshot is None:
            self.pending.pop(group, None)
            await self.forget(group)
            raise errors.NotFound
        if request_id is not None:
            await self.send_event("SUBSCRIBED", snapshot, {"request_id": request_id})
        if group in self.pending:
            await self.release(group, after_version=snapshot["version"])

    async def unsubscribe(self, request):
        await self.forget(notifications.group_name(request["model"], request["pk"]))
        if "request_id" in request:
            await self.send_event(
                "UNSUBSCRIBED",
                {"model": request["model"]._meta.label, "id": request["id"]},
                {"request_id": request["request_id"]},
            )

    async def forget(self, group):
        if self.subscriptions.pop(group, None) is not None:
            SUBSCRIPTIONS.dec()
            await self.hub.leave(group, self)

    async def release(self, group: str, after_version: int = 0) -> None:
        """Delivers the events held for `group`, but for changes no newer than `after_version`."""
        for message, frame in self.pending.pop(group):
            if message["ends"] or message["version"] > after_version:
                await self.deliver(group, message, frame)

    async def deliver(self, group: str, message: dict, frame: list | None) -> None:
        """An event for `group` from the hub; `frame` is this user's, None if they lost access."""
        if group in self.pending:
            return self.pending[group].append((message, frame))
        if frame is None:
            await self.forget(group)
            EVENTS_DELIVERED.inc()
            return await self.send(text_data=message["gone"])
        if frame[1] is not None:
            EVENTS_DELIVERED.inc()
            await self.send(text_data=frame[1])
        if message["ends"]:
            await self.forget(group)

    @database_sync_to_async
    def snapshot(self, model, pk) -> dict | None:
        instance = model.visible_to(self.scope["user"]).filter(pk=pk).first()
        if instance is None:
            return None
        representation = instance.representation_for(self.user_pk)
        return {
            "model": model._meta.label,
            "id": notifications.public_id(instance),
            "version": instance.version,
            "data": representation.serializer_class(instance).data,
        }

    async def send_event(self, event_type, payload, meta):
        await self.send(
            text_data=notifications.encode({"type": event_type, "payload": payload, "meta": meta})
        )

    async def send_error(self, error: errors.SocketError, request_id) -> None:
        payload = {"code": error.code, "detail": error.detail}
        if error.errors:
            payload["errors"] = error.errors
        meta = {} if request_id is None else {"request_id": request_id}
        await self.send(
            text_data=notifications.encode(
                {"type": "ERROR", "error": True, "payload": payload, "meta": meta}
            )
        )
