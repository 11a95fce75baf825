"""What a model (and its REST view) inherits to become subscribable."""

from functools import cached_property, reduce
from operator import or_

from django.db import models, transaction
from django.db.models import F
from django.utils.module_loading import import_string

from realtime.audiences import EVERYONE, Audience


class Representation:
    """A serializer and the audience it is for.

    A model lists its representations most specific first; each user is shown the first one whose
    audience includes them, over REST and over the socket alike.
    """

    def __init__(self, serializer: str, audience: Audience):
        self._serializer = serializer
        self.audience = audience

    @cached_property
    def serializer_class(self):
        # Named by dotted path, because serializers import the models that declare them.
        return import_string(self._serializer)

    @cached_property
    def id_field(self):
        """The serializer's `id` field: it renders and decodes the object's public id."""
        return self.serializer_class().fields["id"]

    @cached_property
    def reads(self) -> frozenset[str] | None:
        """The model fields the serializer shows, by field name; None if it reads the whole
        object (a `source="*"` field), so that any change may show."""
        model = self.serializer_class.Meta.model
        names = {field.attname: field.name for field in model._meta.concrete_fields}
        sources = set()
        for field in self.serializer_class().fields.values():
            if field.source == "*":
                return None
            source = field.source.split(".")[0]
            sources.add(names.get(source, source))
        return frozenset(sources)

    def shows_any(self, changed: set[str] | None) -> bool:
        return changed is None or self.reads is None or not self.reads.isdisjoint(changed)

    def shown_to(self, instance, user_pk: int) -> bool:
        members = self.audience.members(instance)
        return members is EVERYONE or user_pk in members


class SubscribableQuerySet(models.QuerySet):
    def update_and_notify(self, **fields) -> int:
        """`update()` that bumps versions and sends each changed object's event on commit.

        `update()` itself bypasses `save()` and signals, so it notifies nobody.
        """
        from realtime import notifications

        with transaction.atomic(using=self.db):
            # Read before the update: who could see each object, for a collection's followers.
            previous = {instance.pk: instance for instance in self.select_for_update()}
            changed = self.model._default_manager.filter(pk__in=previous)
            count = changed.update(version=F("version") + 1, **fields)
            tracked = set(fields) & set(self.model.tracker.fields)
            if tracked:
                for instance in changed:
                    notifications.notify_update(instance, tracked, previous[instance.pk])
        return count

    def notify_created(self) -> None:
        """Sends each object's creation to its collection's followers on commit, in one layer
        message per group: for objects made by `bulk_create()`, which sends no signal."""
        from realtime import notifications

        notifications.notify_created(list(self))


class Subscribable(models.Model):
    """A model whose changes are pushed to subscribed sockets.

    Declare `tracker = FieldTracker(fields=[...])` (changes to those fields are events) and
    `realtime_representations`. `version` grows by one on every save, so clients can drop
    stale or duplicate events.
    """

    version = models.PositiveIntegerField(default=1, editable=False)

    realtime_representations: tuple[Representation, ...] = ()

    # A feed model's events, from its creation on, reach every socket of its audience's users
    # whether or not they subscribed (a user's jobs, say). Its first audience must name users.
    realtime_feed = False

    # A collection can be followed whole: `{"model": "api.Foo"}` without an `id` follows every
    # object the user can see, with CREATE_, UPDATE_ and DELETE_ events as objects appear in
    # and leave their view. Its audiences' fields must be tracked.
    realtime_collection = False

    objects = SubscribableQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            self.version += 1
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "version"}
        super().save(*args, **kwargs)

    @classmethod
    def realtime_queryset(cls) -> models.QuerySet:
        """Objects that exist for subscribers at all; see `is_realtime_visible`."""
        return cls._default_manager.all()

    def is_realtime_visible(self) -> bool:
        """In-memory twin of `realtime_queryset`, checked when an event is delivered."""
        return True

    @classmethod
    def visible_to(cls, user) -> models.QuerySet:
        """Objects `user` is shown in some representation."""
        if not user.is_authenticated:
            return cls._default_manager.none()
        base = cls.realtime_queryset()
        return reduce(
            or_, (rep.audience.filter(base, user) for rep in cls.realtime_representations)
        )

    def representation_for(self, user_pk: int) -> Representation:
        """The representation of this object shown to a user it is visible to."""
        return next(rep for rep in self.realtime_representations if rep.shown_to(self, user_pk))
