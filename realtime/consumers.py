import asyncio
import json
import time
from datetime import datetime

from channels.exceptions import DenyConnection, StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.contrib.auth.models import AnonymousUser
from django.utils.module_loading import import_string

from realtime import errors, notifications
from realtime.close_codes import CloseCode
from realtime.conf import realtime_setting
from realtime.database import database_sync_to_async
from realtime.dispatch import DirectDispatch
from realtime.draining import draining
from realtime.hub import frame_for, get_hub
from realtime.metrics import EVENTS_DELIVERED, SOCKETS_REFUSED, SUBSCRIPTIONS
from realtime.serializers import BatchItemSerializer, BatchSerializer, SubscriptionSerializer
from realtime.sessions import get_watcher
from realtime.sockets import open_sockets
from realtime.throttling import TokenBucket


class NotificationsConsumer(DirectDispatch, AsyncWebsocketConsumer):
    """`ws/notifications/`: subscribe to objects, receive their events.

    The consumer glues the pieces: the serializer validates a message, the model's audiences
    decide visibility, the hub delivers events, `realtime.notifications` shapes them.
    """

    # No channel of its own: the process's hub receives for every socket, so a socket costs no
    # channel-layer receive of its own.
    channel_layer_alias = None

    async def __call__(self, scope, receive, send):
        """Channels' own, for a consumer without a channel: with `receive` its one source of
        messages, it awaits it directly rather than through `await_many_dispatch`, which holds
        a task and an `asyncio.wait` for each open socket (about 3 KB of an idle one).

        However the consumer ends, its socket leaves its groups and is counted out: its client
        closing, or a handler's error (a database that fails a snapshot's read), which Daphne
        logs and answers by closing the socket, and which `disconnect` would never hear of. The
        socket would otherwise count against its user's sockets, and its groups' fan-outs
        would be written to it, for as long as the process runs."""
        self.scope = scope
        self.channel_layer = None
        self.base_send = send
        self.hub = None
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass
        finally:
            await self.detach()
            open_sockets().remove(self)

    async def websocket_connect(self, message):
        """Authenticates the socket, then connects it: a page of another site (DenyConnection)
        is refused at the handshake, a refused credential gets the socket opened only to say
        why, then closed with 4401."""
        self.accepted = False
        try:
            await self.authenticate()
        except errors.AuthenticationFailed as error:
            return await self.refuse(error)
        except DenyConnection:
            return await super().close()
        await self.connect()

    async def authenticate(self) -> None:
        """Asks each of REALTIME["AUTHENTICATION_CLASSES"] in turn, as DRF asks a view's: the
        first that answers adds its answer to the scope (this socket's own copy, its route's)
        and has its subprotocol picked, or refuses the socket. None answering: anonymous.

        Classes rather than middleware, because every ASGI layer holds a coroutine frame and a
        copy of the scope for as long as its socket is open."""
        for path in realtime_setting("AUTHENTICATION_CLASSES"):
            authentication = import_string(path)()
            self.subprotocol = authentication.subprotocol
            found = await authentication.authenticate(self.scope)
            if found is not None:
                self.scope.update(found)
                return
        self.subprotocol = None
        self.scope["user"] = AnonymousUser()

    async def refuse(self, error: errors.AuthenticationFailed) -> None:
        """Opens the socket only to say why its credentials were refused, then closes it with
        4401. A client that offered subprotocols fails a handshake that picks none (browsers
        do), and would never read the reason: the refusing class's is picked when offered,
        never anything else."""
        if self.subprotocol not in (self.scope.get("subprotocols") or []):
            self.subprotocol = None
        await self.accept()
        await self.send_error(error, None)
        await self.close(CloseCode.LOGGED_OUT)

    async def accept(self, subprotocol=None, headers=None):
        """Channels' own, picking the subprotocol of the class that authenticated the socket
        (an API token's `bearer`), if any."""
        await super().accept(subprotocol or self.subprotocol, headers)
        self.accepted = True

    async def connect(self):
        # The groups of the objects followed: a dict for its keys alone, a third of a set's size,
        # and nothing per key (the public id a client sent is in its group's pk).
        self.subscriptions: dict[str, None] = {}
        # Followed collections, by model label: the group joined for it, or None when its
        # events come through the user's own group.
        self.collections: dict[str, str | None] = {}
        # Events that arrive while a subscription's snapshot is read, by group.
        self.pending: dict[str, list] = {}
        self.throttle = TokenBucket(
            realtime_setting("THROTTLE_BURST"), realtime_setting("THROTTLE_RATE")
        )
        user = self.scope["user"]
        self.user_pk = user.pk if user.is_authenticated else None
        refusal = (
            CloseCode.SERVICE_RESTART if draining() else open_sockets().admit(self, self.user_pk)
        )
        if refusal is not None:
            SOCKETS_REFUSED.labels(int(refusal)).inc()
            return await self.close(refusal)
        if not user.is_authenticated:
            return await self.accept()
        self.credential, expiry = self.credential_and_expiry()
        self.hub = get_hub()
        # A session is re-read by the process's watcher, for an end no signal reaches; a
        # token's revocation reaches its user's group, and its expiry the timer.
        self.sessions = None if "token" in self.scope else get_watcher()
        self.session_timer = None
        if expiry is not None:
            self.session_timer = asyncio.get_running_loop().call_later(
                expiry.timestamp() - time.time(), self.session_expired
            )
        # Joined before the handshake completes, so that nothing committed after the client
        # sees the socket open is missed; what arrives before is held until then.
        for group in self.own_groups():
            self.pending[group] = []
        if not await self.join(self.own_groups()):
            return
        await self.accept()
        for group in self.own_groups():
            await self.release(group)
        if self.sessions is not None:
            self.sessions.watch(self)

    def credential_and_expiry(self) -> tuple[str, datetime | None]:
        """What the socket was opened with, as a close message at its end names it, and when it
        expires: the API token (`scope["token"]`, set by `api.socket_auth`; its expiry may be
        None, never) or the session (read with it by `realtime.session_auth`)."""
        token = self.scope.get("token")
        if token is not None:
            return notifications.token_credential(token.pk), token.expires_at
        session_key = self.scope["session"].session_key
        return notifications.session_credential(session_key), self.scope["session_expiry"]

    def own_groups(self) -> list[str]:
        """The groups every socket of an authenticated user is in, subscribed or not: its user's,
        which also hears the end of its session or token."""
        return [notifications.user_group(self.user_pk)]

    async def close(self, code: CloseCode, reason=None):
        """Closes with `code`, the socket accepted first if it was not yet (refused as it
        opened, or closed while it joined its groups): a refused handshake would reach the
        client as 1006, without the code that tells it why and when to come back."""
        await self.detach()
        if not self.accepted:
            await self.accept()
        # A plain int: autobahn refuses any other type of close code, an IntEnum included.
        await super().close(int(code), reason)

    def session_expired(self) -> None:
        self.closing = asyncio.ensure_future(self.close(CloseCode.LOGGED_OUT))

    async def detach(self):
        if self.hub is not None:
            if self.session_timer is not None:
                self.session_timer.cancel()
            if self.sessions is not None:
                self.sessions.forget(self)
            hub, self.hub = self.hub, None
            shared = [group for group in self.collections.values() if group is not None]
            for group in [*self.subscriptions, *shared, *self.own_groups()]:
                await hub.leave(group, self)
            SUBSCRIPTIONS.dec(len(self.subscriptions))
            self.subscriptions.clear()
            self.collections.clear()

    async def receive(self, text_data=None, bytes_data=None):
        size = len(text_data.encode()) if text_data is not None else len(bytes_data)
        if size > realtime_setting("MAX_MESSAGE_BYTES"):
            return await self.close(CloseCode.MESSAGE_TOO_BIG)
        try:
            request = self.parse(text_data)
        except errors.SocketError as error:
            return await self.send_error(error, error.request_id)
        try:
            await self.handle(request)
        except errors.SocketError as error:
            await self.send_error(error, request.get("request_id"))

    def parse(self, text_data: str | None) -> dict:
        """The request a message makes, validated; what is wrong with it is a SocketError."""
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
        if "subscribe" in content:
            return self.parse_batch(content)
        return validated(SubscriptionSerializer, content)

    def parse_batch(self, content: dict) -> dict:
        """A batch, whose items are validated together, by one serializer whose fields are built
        once (a reconnect storm validates ten thousand items), and if any is invalid, each alone:
        an invalid one is answered with its error, and the others are carried out."""
        batch = validated(BatchSerializer, content)
        # Each item costs the throttle what it would cost alone; the message took one already.
        if not self.throttle.take(len(batch["subscribe"]) - 1):
            raise errors.Throttled(request_id=batch.get("request_id"))
        together = BatchItemSerializer(data=batch["subscribe"], many=True)
        if together.is_valid():
            return {"action": "batch", "items": together.validated_data, **batch}
        items = []
        for item in batch["subscribe"]:
            try:
                items.append(validated(BatchItemSerializer, item))
            except errors.Invalid as error:
                items.append(error)
        return {"action": "batch", "items": items, **batch}

    async def handle(self, request: dict) -> None:
        """Carries out a valid request: subscribe (the default action), a batch of
        subscriptions, or unsubscribe."""
        if self.hub is None:
            raise errors.NotAuthenticated
        if request["action"] == "unsubscribe":
            return await self.unsubscribe(request)
        await self.subscribe(request["items"] if request["action"] == "batch" else [request])

    async def subscribe(self, requests: list) -> None:
        """Subscribes to each request (or answers its error), reading the snapshots of each
        model's objects in one query, and answers each in order as if it had come alone. The
        groups of all the requests are joined at once, before any snapshot is read."""
        joining: list[str] = []
        joined = [self.enter(request, joining) for request in requests]
        if not await self.join(joining):
            return
        wanted: dict = {}
        for request, outcome in zip(requests, joined, strict=True):
            if outcome is not None and not isinstance(outcome, errors.SocketError):
                wanted.setdefault(request["model"], set()).add(request["pk"])
        snapshots = await self.snapshots(wanted) if wanted else {}
        for request, outcome in zip(requests, joined, strict=True):
            if isinstance(outcome, errors.SocketError):
                await self.send_error(outcome, outcome.request_id)
            elif outcome is None:
                await self.answer(request, {"model": request["model"]._meta.label})
            else:
                await self.subscribed(request, outcome, snapshots.get(outcome))

    async def join(self, groups: list[str]) -> bool:
        """Joins `groups` at once; False if the socket was closed while it waited (its session
        ended, the process drains, the hub resyncs), having left them again: a closed socket is
        in no group, and nothing more is done for it."""
        hub = self.hub
        await hub.join(groups, self)
        if self.hub is None:
            for group in groups:
                await hub.leave(group, self)
            return False
        return True

    def enter(self, request, joining: list[str]) -> str | errors.SocketError | None:
        """Records what `request` follows, adding the group to join before its snapshot is read
        to `joining`: the object's group (which it returns), or the collection (None). Its
        error if it cannot."""
        if isinstance(request, errors.SocketError):
            return request
        try:
            if request["pk"] is None:
                return self.follow(request["model"], joining)
            group = notifications.group_name(request["model"], request["pk"])
            if group not in self.subscriptions:
                self.check_room()
                # Join before reading, and hold back what arrives meanwhile: an event committed
                # after the read is replayed, one committed before it is dropped as older.
                self.subscriptions[group] = None
                SUBSCRIPTIONS.inc()
                self.pending[group] = []
                joining.append(group)
        except errors.SocketError as error:
            error.request_id = request.get("request_id")
            return error
        return group

    async def subscribed(self, request, group: str, snapshot: dict | None) -> None:
        """Answers a subscription to an object with its snapshot, or not_found."""
        if snapshot is None:
            self.pending.pop(group, None)
            await self.forget(group)
            return await self.send_error(errors.NotFound(), request.get("request_id"))
        await self.answer(request, snapshot)
        if group in self.pending:
            await self.release(group, after_version=snapshot["version"])

    async def answer(self, request, payload: dict) -> None:
        if "request_id" in request:
            await self.send_event("SUBSCRIBED", payload, {"request_id": request["request_id"]})

    def check_room(self) -> None:
        if len(self.subscriptions) + len(self.collections) >= realtime_setting("MAX_SUBSCRIPTIONS"):
            raise errors.TooManySubscriptions

    def follow(self, model, joining: list[str]) -> None:
        """Follows a collection. Nothing to read: from the answer on, every change of an object
        the user sees, or saw, reaches the socket, so a list fetched after it converges with
        the events (README, "Collections")."""
        label = model._meta.label
        if label not in self.collections:
            self.check_room()
            group = self.collections[label] = notifications.collection_group(model)
            if group is not None:
                joining.append(group)

    async def unsubscribe(self, request):
        model = request["model"]
        payload = {"model": model._meta.label}
        if request["pk"] is None:
            group = self.collections.pop(payload["model"], None)
            if group is not None:
                await self.hub.leave(group, self)
        else:
            payload["id"] = request["id"]
            await self.forget(notifications.group_name(model, request["pk"]))
        if "request_id" in request:
            await self.send_event("UNSUBSCRIBED", payload, {"request_id": request["request_id"]})

    async def forget(self, group):
        if group in self.subscriptions:
            del self.subscriptions[group]
            SUBSCRIPTIONS.dec()
            await self.hub.leave(group, self)

    async def release(self, group: str, after_version: int = 0) -> None:
        """Delivers the events held for `group`, but for changes no newer than `after_version`."""
        held = self.pending.pop(group)
        if not self.pending:
            # An emptied dict keeps the table of its largest size; cleared, it is 64 bytes.
            self.pending.clear()
        written = 0
        for message, frame in held:
            if message["ends"] or message["version"] > after_version:
                written += await self.deliver(group, message, frame)
        EVENTS_DELIVERED.inc(written)

    async def deliver(self, group: str, message: dict, frame: notifications.Frame | None) -> int:
        """An event for `group` from the hub; `frame` is this user's, None if they lost access.
        Returns the frames written, which the hub counts once per fan-out."""
        if group in self.pending:
            self.pending[group].append((message, frame))
            return 0
        if "batch" in message:
            written = 0
            for event in message["batch"]:
                frame = frame_for(event["frames"], self.user_pk)
                written += await self.deliver(group, event, frame)
            return written
        if group != message["object"]:
            return await self.deliver_to_audience(message, frame)
        if message["collection"] in self.collections:
            # The collection's route brings this change; a subscription it ends ends quietly.
            if frame is None or message["ends"]:
                await self.forget(group)
            return 0
        if frame is None:
            await self.forget(group)
            return await self.write(message["gone"])
        written = 0 if frame["text"] is None else await self.write(frame["text"])
        if message["ends"]:
            await self.forget(group)
        return written

    async def deliver_to_audience(self, message: dict, frame: notifications.Frame | None) -> int:
        """An event of a feed or a collection, which reached the user's group (or, for a
        collection shown to everyone, the model's): `CREATE_` for a follower of the collection
        who could not see the object before, `DELETE_` for one who no longer can."""
        follows = message["collection"] in self.collections
        if not (follows or message["feed"]):
            return 0
        was = any(members is None or self.user_pk in members for members in message["before"])
        if message["ends"]:
            text = frame["text"] if was else None
        elif frame is None:
            text = message["gone"] if was else None
        elif follows and not was:
            text = frame["create"]
        else:
            text = frame["text"]
        return 0 if text is None else await self.write(text)

    async def write(self, text: str) -> int:
        """Writes an event's frame, and returns 1 (frames written). Straight to the server
        (`base_send`): `send` would wrap each of a fan-out's thousand writes in two more
        coroutines."""
        await self.base_send({"type": "websocket.send", "text": text})
        return 1

    @database_sync_to_async
    def snapshots(self, wanted: dict) -> dict[str, dict]:
        """The snapshots of the objects `wanted` ({model: pks}) that the user sees, by group:
        one query per model, however many objects, and one serializer per representation,
        whose fields are built once for all its objects."""
        found = {}
        for model, pks in wanted.items():
            shown: dict[type, list] = {}
            for instance in model.visible_to(self.scope["user"]).filter(pk__in=pks):
                representation = instance.representation_for(self.user_pk)
                shown.setdefault(representation.serializer_class, []).append(instance)
            for serializer_class, instances in shown.items():
                data = serializer_class(instances, many=True).data
                for instance, fields in zip(instances, data, strict=True):
                    found[notifications.group_name(model, instance.pk)] = {
                        "model": model._meta.label,
                        "id": notifications.public_id(instance),
                        "version": instance.version,
                        "data": fields,
                    }
        return found

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


def validated(serializer_class, content: dict) -> dict:
    """`content` validated by `serializer_class`, or Invalid with its errors."""
    message = serializer_class(data=content)
    if not message.is_valid():
        # Echo the request id when it is itself valid, so the client can match the error.
        echoed = None if "request_id" in message.errors else content.get("request_id")
        raise errors.Invalid(errors=message.errors, request_id=echoed)
    return message.validated_data
