import json

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from realtime import notifications
from realtime.conf import realtime_setting
from realtime.hub import get_hub
from realtime.serializers import SubscriptionSerializer
from realtime.throttling import TokenBucket

CLOSE_MESSAGE_TOO_BIG = 1009


class NotificationsConsumer(AsyncWebsocketConsumer):
    """`ws/notifications/`: subscribe to objects, receive their events.

    The consumer glues the pieces: the serializer validates a message, the model's audiences
    decide visibility, the hub delivers events, `realtime.notifications` shapes them.
    """

    async def connect(self):
        self.subscriptions: dict[str, tuple] = {}
        self.throttle = TokenBucket(
            realtime_setting("THROTTLE_BURST"), realtime_setting("THROTTLE_RATE")
        )
        self.hub = None
        user = self.scope["user"]
        await self.accept()
        if user.is_authenticated:
            self.user_pk = user.pk
            session = self.scope["session"]
            self.session_expires_at = (
                await database_sync_to_async(session.get_expiry_date)()
            ).timestamp()
            self.hub = get_hub()
            await self.hub.join(notifications.user_group(user.pk), self)
            await self.hub.join(notifications.session_group(session.session_key), self)

    async def disconnect(self, code):
        await self.detach()

    async def close(self, code=None, reason=None):
        await self.detach()
        await super().close(code, reason)

    async def detach(self):
        if self.hub is not None:
            hub, self.hub = self.hub, None
            await hub.detach(
                self,
                [
                    *self.subscriptions,
                    notifications.user_group(self.user_pk),
                    notifications.session_group(self.scope["session"].session_key),
                ],
            )
            self.subscriptions.clear()

    async def forget(self, group):
        """Drop a subscription the server ended (deletion, lost access)."""
        if self.subscriptions.pop(group, None) is not None:
            await self.hub.leave(group, self)

    async def receive(self, text_data=None, bytes_data=None):
        size = len(text_data.encode()) if text_data is not None else len(bytes_data)
        if size > realtime_setting("MAX_MESSAGE_BYTES"):
            return await self.close(CLOSE_MESSAGE_TOO_BIG)
        if not self.throttle.take():
            return await self.send_error("throttled", "Too many messages; slow down.")
        if text_data is None:
            return await self.send_error("parse_error", "Send JSON text frames, not binary.")
        try:
            content = json.loads(text_data)
        except ValueError:
            return await self.send_error("parse_error", "The message is not valid JSON.")
        await self.receive_json(content)

    async def receive_json(self, content):
        if not isinstance(content, dict):
            return await self.send_error("invalid", "Send a JSON object.")
        message = SubscriptionSerializer(data=content)
        if not message.is_valid():
            # Echo the request id when it is itself valid, so the client can match the error.
            request_id = None if "request_id" in message.errors else content.get("request_id")
            return await self.send_error(
                "invalid", "The message is not a valid subscription.", message.errors, request_id
            )
        request = message.validated_data
        request_id = request.get("request_id")
        if self.hub is None:
            return await self.send_error(
                "not_authenticated", "Log in to subscribe.", request_id=request_id
            )
        if request["action"] == "unsubscribe":
            return await self.unsubscribe(request)
        await self.subscribe(request)

    async def subscribe(self, request):
        model, pk, request_id = request["model"], request["pk"], request.get("request_id")
        group = notifications.group_name(model, pk)
        if group not in self.subscriptions and len(self.subscriptions) >= realtime_setting(
            "MAX_SUBSCRIPTIONS"
        ):
            return await self.send_error(
                "too_many_subscriptions",
                f"A socket may hold {realtime_setting('MAX_SUBSCRIPTIONS')} subscriptions; "
                "unsubscribe from some first.",
                request_id=request_id,
            )
        if not await self.is_visible(model, pk):
            return await self.send_error("not_found", "No such object.", request_id=request_id)
        self.subscriptions[group] = (model, request["id"])
        await self.hub.join(group, self)
        if request_id is not None:
            snapshot = await self.snapshot(model, pk)
            if snapshot is None:
                await self.forget(group)
                return await self.send_error("not_found", "No such object.", request_id=request_id)
            await self.send_event("SUBSCRIBED", snapshot, {"request_id": request_id})

    async def unsubscribe(self, request):
        group = notifications.group_name(request["model"], request["pk"])
        await self.forget(group)
        if "request_id" in request:
            await self.send_event(
                "UNSUBSCRIBED",
                {"model": request["model"]._meta.label, "id": request["id"]},
                {"request_id": request["request_id"]},
            )

    @database_sync_to_async
    def is_visible(self, model, pk) -> bool:
        return model.visible_to(self.scope["user"]).filter(pk=pk).exists()

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

    async def send_error(self, code, detail, errors=None, request_id=None):
        payload = {"code": code, "detail": detail}
        if errors:
            payload["errors"] = errors
        meta = {} if request_id is None else {"request_id": request_id}
        await self.send(
            text_data=notifications.encode(
                {"type": "ERROR", "error": True, "payload": payload, "meta": meta}
            )
        )
