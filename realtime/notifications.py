"""Events: their names, their shape, and how they leave a process.

An event is encoded here once per representation, in the process that saved the object, and
travels the channel layer as finished JSON text with the audience of each text; the receiving
process only picks the text for each socket (see `realtime.hub`).
"""

import copy
import hashlib
import json
import logging
import sys
from typing import TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from realtime.audiences import EVERYONE
from realtime.close_codes import CloseCode

logger = logging.getLogger(__name__)

EVENT = "realtime.event"
CLOSE = "realtime.close"


def group_name(model, pk) -> str:
    """Interned: every socket that follows the object, and the hub's groups, hold one string."""
    return sys.intern(f"realtime.{model._meta.label_lower}.{pk}")


def user_group(pk) -> str:
    return f"realtime.user.{pk}"


def session_credential(session_key: str) -> str:
    """A session, as a close message names it: the session key is a credential, and the channel
    layer (Redis) only ever sees a digest."""
    return f"session.{hashlib.sha256(session_key.encode()).hexdigest()[:32]}"


def token_credential(pk) -> str:
    """An API token, as a close message names it: its primary key, nothing of the secret."""
    return f"token.{pk}"


def event_type(action: str, model) -> str:
    return f"{action}_{model._meta.model_name.upper()}"


def encode(message: dict) -> str:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


def public_id(instance) -> str:
    return instance.realtime_representations[0].id_field.to_representation(instance.pk)


def meta(instance, **extra) -> dict:
    return {
        "model": instance._meta.label,
        "id": public_id(instance),
        "version": instance.version,
        **extra,
    }


class Frame(TypedDict):
    """One representation's part of a layer message: who may read it, and what they are sent."""

    # The pks of the users it is shown to; None: every authenticated user.
    members: list[int] | None
    # The UPDATE_ (or DELETE_) text; None when the change shows nothing new in it.
    text: str | None
    # The CREATE_ text that a collection's follower who could not see the object before is
    # sent; None where nobody may gain access.
    create: str | None


def gone_text(instance, reason: str) -> str:
    """The frame that ends a subscription: the object was deleted, or is no longer shown."""
    return encode(
        {
            "type": event_type("DELETE", instance),
            "payload": {"id": public_id(instance)},
            "meta": meta(instance, reason=reason),
        }
    )


def audiences(instance) -> list[list[int] | None]:
    """The members of each representation of `instance` (None: everyone), or [] when it is
    shown to nobody; JSON-ready, for the layer."""
    if not instance.is_realtime_visible():
        return []
    lists = [rep.audience.members(instance) for rep in instance.realtime_representations]
    return [None if members is EVERYONE else sorted(members) for members in lists]


def previous_state(instance, changed: dict):
    """`instance` as it was before this save, as far as its audiences can tell: a copy with the
    tracker's previous values (`FieldTracker.changed()`) of the fields that changed."""
    previous = copy.copy(instance)
    previous._state = copy.copy(instance._state)
    previous._state.fields_cache = {}
    field_map = instance.tracker.field_map
    previous.__dict__.update({field_map[name]: value for name, value in changed.items()})
    return previous


def update_message(instance, changed: set[str] | None, previous=None, created=False) -> dict:
    """The layer message of a change: one text per representation, with who may read it.

    A representation that shows none of the `changed` fields gets no text: its audience keeps
    access but is sent nothing (an email change is news to its owner only). `previous` is the
    object before the change when its audience may have changed (see `previous_state`);
    `created` says that nobody saw it before. Where someone may gain access, each frame also
    carries the `CREATE_` text that a collection's follower among them is sent (see `Frame`).
    """
    frames = []
    now = audiences(instance)
    before = [] if created else audiences(previous or instance)
    if now:
        event = event_type("UPDATE", instance)
        event_meta = meta(instance)
        gained = None
        if now != before:
            gained = meta(instance, reason="created" if created else "access_gained")
        for representation, members in zip(instance.realtime_representations, now, strict=True):
            shows = representation.shows_any(changed)
            frame = Frame(members=members, text=None, create=None)
            if shows or gained:
                payload = representation.serializer_class(instance).data
                if shows:
                    frame["text"] = encode({"type": event, "payload": payload, "meta": event_meta})
                if gained:
                    create = event_type("CREATE", instance)
                    frame["create"] = encode({"type": create, "payload": payload, "meta": gained})
            frames.append(frame)
    return {
        **routing(instance, before),
        "version": instance.version,
        "frames": frames,
        "gone": gone_text(instance, "access_lost"),
        "ends": False,
    }


def delete_message(instance) -> dict:
    return {
        **routing(instance, audiences(instance)),
        "version": instance.version,
        "frames": [Frame(members=None, text=gone_text(instance, "deleted"), create=None)],
        "gone": None,
        "ends": True,
    }


def routing(instance, before: list) -> dict:
    """What a socket needs to tell how an event reached it: through the object's own group (a
    subscription to it), or through an audience's group (a feed, or a collection), and then
    whether its user saw the object `before` the change."""
    return {
        "type": EVENT,
        "object": group_name(type(instance), instance.pk),
        "collection": instance._meta.label if instance.realtime_collection else None,
        "feed": instance.realtime_feed,
        "before": before,
    }


def collection_group(model) -> str | None:
    """The group a collection's followers join: the model's own when an audience is everyone;
    None when the collection's events go to the groups of the users they concern, which every
    socket of theirs is in already."""
    if all(rep.audience.names_users for rep in model.realtime_representations):
        return None
    return f"realtime.{model._meta.label_lower}"


def broadcast(messages: dict[str, dict]) -> None:
    """Sends each message to its group, in order, in one hop to the event loop."""
    async_to_sync(send_each)(messages)


async def send_each(messages: dict[str, dict]) -> None:
    """A failing channel layer is logged, never raised into the write."""
    for group, message in messages.items():
        try:
            await get_channel_layer().group_send(group, message)
        except Exception:
            logger.exception("Could not send %s to group %s", message["type"], group)


def targets(instance, message: dict, created: bool = False) -> list[str]:
    """The groups an event of `instance` goes to: the object's own (but for a feed, or an
    object just created, which nobody follows yet), and for a feed or a collection the groups
    of its audiences, before and after the change: one message per user concerned, not one per
    follower."""
    groups = []
    if not (instance.realtime_feed or created):
        groups.append(message["object"])
    if instance.realtime_feed or instance.realtime_collection:
        shared = collection_group(type(instance)) if instance.realtime_collection else None
        if shared is not None:
            groups.append(shared)
        else:
            lists = [frame["members"] for frame in message["frames"]] + message["before"]
            users = {pk for members in lists if members is not None for pk in members}
            groups += [user_group(pk) for pk in sorted(users)]
    return groups


def send_on_commit(messages: dict[str, dict]) -> None:
    """Sends each message to its group on commit, all in one hop to the event loop: the
    writer's thread waits for each hop, on a loop that may be writing a fan-out meanwhile."""
    messages = {group: {**message, "group": group} for group, message in messages.items()}
    transaction.on_commit(lambda: broadcast(messages))


def notify_update(instance, changed: set[str] | None = None, previous=None, created=False) -> None:
    """Send `instance`'s change on commit; `changed` names the changed fields (None: any)."""
    message = update_message(instance, changed, previous, created)
    send_on_commit({group: message for group in targets(instance, message, created)})


def notify_created(instances: list) -> None:
    """The creation of each of `instances`, batched: one message per group, which each socket
    takes as the messages it holds, in order."""
    batches: dict[str, list] = {}
    for instance in instances:
        message = update_message(instance, None, created=True)
        for group in targets(instance, message, created=True):
            batches.setdefault(group, []).append({**message, "group": group})
    send_on_commit({group: batch_message(batch) for group, batch in batches.items()})


def batch_message(batch: list[dict]) -> dict:
    version = max(event["version"] for event in batch)
    return {"type": EVENT, "frames": [], "batch": batch, "version": version, "ends": False}


def notify_delete(instance) -> None:
    message = delete_message(instance)
    send_on_commit({group: message for group in targets(instance, message)})


def close_group(group: str, code: CloseCode = CloseCode.LOGGED_OUT, credential=None) -> None:
    """Closes the group's sockets on commit, or with `credential` only those opened with it. A
    session's or a token's end goes to its user's group, which every socket of the user is in
    already: a group per credential would cost each socket a membership more, in the hub and in
    the layer, and a round trip more to join."""
    send_on_commit({group: {"type": CLOSE, "code": code, "credential": credential}})
