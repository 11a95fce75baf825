"""Events: their names, their shape, and how they leave a process.

An event is encoded here once per representation, in the process that saved the object, and
travels the channel layer as finished JSON text with the audience of each text; the receiving
process only picks the text for each socket (see `realtime.hub`).
"""

import hashlib
import json
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

EVENT = "realtime.event"
CLOSE = "realtime.close"

CLOSE_LOGGED_OUT = 4401
"""Close code of a socket whose session ended (logout, expiry, deletion, user deactivated)."""


def group_name(model, pk) -> str:
    return f"realtime.{model._meta.label_lower}.{pk}"


def user_group(pk) -> str:
    return f"realtime.user.{pk}"


def session_group(session_key: str) -> str:
    # The session key is a credential; the channel layer (Redis) only ever sees a digest.
    return f"realtime.session.{hashlib.sha256(session_key.encode()).hexdigest()[:32]}"


def event_type(action: str, model) -> str:
    return f"{action}_{model._meta.model_name.upper()}"


def encode(message: dict) -> str:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


def public_id(instance) -> str:
    return (
        instance.realtime_representations[0]
        .serializer_class()
        .fields["id"]
        .to_representation(instance.pk)
    )


def meta(instance, **extra) -> dict:
    return {
        "model": instance._meta.label,
        "id": public_id(instance),
        "version": instance.version,
        **extra,
    }


def gone_text(instance, reason: str) -> str:
    """The frame that ends a subscription: the object was deleted, or is no longer shown."""
    return encode(
        {
            "type": event_type("DELETE", instance),
            "payload": {"id": public_id(instance)},
            "meta": meta(instance, reason=reason),
        }
    )


def update_message(instance) -> dict:
    """The layer message of a change: one text per representation, with who may read it."""
    frames = []
    if instance.is_realtime_visible():
        event = event_type("UPDATE", instance)
        event_meta = meta(instance)
        for representation in instance.realtime_representations:
            payload = representation.serializer_class(instance).data
            members = representation.audience.members(instance)
            frames.append(
                [
                    None if members is None else sorted(members),
                    encode({"type": event, "payload": payload, "meta": event_meta}),
                ]
            )
    return {
        "type": EVENT,
        "group": group_name(type(instance), instance.pk),
        "frames": frames,
        "gone": gone_text(instance, "access_lost"),
        "ends": False,
    }


def delete_message(instance) -> dict:
    return {
        "type": EVENT,
        "group": group_name(type(instance), instance.pk),
        "frames": [[None, gone_text(instance, "deleted")]],
        "gone": None,
        "ends": True,
    }


def broadcast(group: str, message: dict) -> None:
    """Send to a group; a failing channel layer is logged, never raised into the write."""
    try:
        async_to_sync(get_channel_layer().group_send)(group, message)
    except Exception:
        logger.exception("Could not send %s to group %s", message["type"], group)


def send_on_commit(message: dict) -> None:
    transaction.on_commit(lambda: broadcast(message["group"], message))


def notify_update(instance) -> None:
    send_on_commit(update_message(instance))


def notify_delete(instance) -> None:
    send_on_commit(delete_message(instance))


def close_group(group: str, code: int = CLOSE_LOGGED_OUT) -> None:
    transaction.on_commit(lambda: broadcast(group, {"type": CLOSE, "group": group, "code": code}))
