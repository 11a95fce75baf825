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

from realtime.close_codes import CloseCode

logger = logging.getLogger(__name__)

EVENT = "realtime.event"
CLOSE = "realtime.close"


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
    return instance.realtime_representations[0].id_field.to_representation(instance.pk)


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


def update_message(instance, changed: set[str] | None) -> dict:
    """The layer message of a change: one text per representation, with who may read it.

    A representation that shows none of the `changed` fields gets no text: its audience keeps
    access but is sent nothing (an email change is news to its owner only).
    """
    frames = []
    if instance.is_realtime_visible():
        event = event_type("UPDATE", instance)
        event_meta = meta(instance)
        for representation in instance.realtime_representations:
            text = None
            if representation.shows_any(changed):
                payload = representation.serializer_class(instance).data
                text = encode({"type": event, "payload": payload, "meta": event_meta})
            members = representation.audience.members(instance)
            frames.append([None if members is None else sorted(members), text])
    return {
        "type": EVENT,
        "version": instance.version,
        "frames": frames,
        "gone": gone_text(instance, "access_lost"),
        "ends": False,
    }


def delete_message(instance) -> dict:
    return {
        "type": EVENT,
        "version": instance.version,
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


def targets(instance) -> list[str]:
    """The groups an event of `instance` goes to: the object's own, or for a feed model the
    groups of its audience's users, so that every socket of theirs hears of it unasked."""
    if instance.realtime_feed:
        members = instance.realtime_representations[0].audience.members(instance)
        return [user_group(pk) for pk in sorted(members)]
    return [group_name(type(instance), instance.pk)]


def send_on_commit(group: str, message: dict) -> None:
    message = {**message, "group": group}
    transaction.on_commit(lambda: broadcast(group, message))


def notify_update(instance, changed: set[str] | None = None) -> None:
    """Send `instance`'s change on commit; `changed` names the changed fields (None: any)."""
    message = update_message(instance, changed)
    for group in targets(instance):
        send_on_commit(group, message)


def notify_delete(instance) -> None:
    message = delete_message(instance)
    for group in targets(instance):
        send_on_commit(group, message)


def close_group(group: str, code: CloseCode = CloseCode.LOGGED_OUT) -> None:
    send_on_commit(group, {"type": CLOSE, "code": code})
