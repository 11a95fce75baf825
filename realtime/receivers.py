"""Signal receivers, connected in `RealtimeConfig.ready()` so that every process that saves a
model notifies, whether or not it ever imported the consumer."""

from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.auth.signals import user_logged_out
from django.contrib.sessions.models import Session
from django.db.models.signals import post_delete, post_save

from realtime import notifications, registry


def on_save(sender, instance, created, **kwargs) -> None:
    if created:
        # Nobody can follow an object before it exists, but the audience of a feed or the
        # followers of its collection.
        if instance.realtime_feed or instance.realtime_collection:
            notifications.notify_update(instance, created=True)
        return
    changed = instance.tracker.changed()
    if changed:
        previous = notifications.previous_state(instance, changed)
        notifications.notify_update(instance, set(changed), previous)


def on_delete(sender, instance, **kwargs) -> None:
    notifications.notify_delete(instance)


def on_user_save(sender, instance, created, **kwargs) -> None:
    if not instance.is_active:
        notifications.close_group(notifications.user_group(instance.pk))


def on_user_delete(sender, instance, **kwargs) -> None:
    notifications.close_group(notifications.user_group(instance.pk))


def on_logout(sender, request, user, **kwargs) -> None:
    if user is not None:
        close_session(user.pk, request.session.session_key)


def on_session_delete(sender, instance, **kwargs) -> None:
    """A deleted session's sockets, found in the group of the user its data names (none, if it
    names nobody or cannot be decoded: then it authenticated no socket)."""
    pk = instance.get_decoded().get(SESSION_KEY)
    if pk is not None:
        close_session(get_user_model()._meta.pk.to_python(pk), instance.session_key)


def close_session(user_pk, session_key: str) -> None:
    notifications.close_group(
        notifications.user_group(user_pk),
        credential=notifications.session_credential(session_key),
    )


def connect() -> None:
    for label in registry.labels():
        model = registry.get(label)
        post_save.connect(on_save, sender=model, dispatch_uid=f"realtime.save.{label}")
        post_delete.connect(on_delete, sender=model, dispatch_uid=f"realtime.delete.{label}")
    user_model = get_user_model()
    post_save.connect(on_user_save, sender=user_model, dispatch_uid="realtime.user_save")
    post_delete.connect(on_user_delete, sender=user_model, dispatch_uid="realtime.user_delete")
    post_delete.connect(on_session_delete, sender=Session, dispatch_uid="realtime.session")
    user_logged_out.connect(on_logout, dispatch_uid="realtime.logout")
