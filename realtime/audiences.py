"""Who is shown a representation of an object.

An audience answers the same question twice: in SQL when a user subscribes or reads over REST
(`filter`), and in memory when an event is delivered (`members`), so that delivery checks every
socket's access without a query per subscriber.
"""

from abc import ABC, abstractmethod

from django.db.models import QuerySet

EVERYONE = None
"""`members()` value meaning: every authenticated user."""


class Audience(ABC):
    # Whether `members()` names users (never EVERYONE): a collection's events then go to the
    # groups of those users, rather than to every follower of the model.
    names_users = True

    # The model fields `members()` reads: a collection model tracks them, so that a change
    # tells who lost access and who gained it (see `realtime.checks`).
    fields: tuple[str, ...] = ()

    @abstractmethod
    def filter(self, queryset: QuerySet, user) -> QuerySet:
        """The objects of `queryset` whose audience includes `user`."""

    @abstractmethod
    def members(self, instance) -> frozenset[int] | None:
        """Primary keys of the users in the audience of `instance`, or EVERYONE."""


class Owner(Audience):
    """The user a foreign key of the object points to."""

    def __init__(self, field: str = "owner"):
        self.field = field
        self.fields = (field,)

    def filter(self, queryset, user):
        return queryset.filter(**{self.field: user})

    def members(self, instance):
        return frozenset([getattr(instance, f"{self.field}_id")])


class Itself(Audience):
    """The user who is the object (for user models)."""

    def filter(self, queryset, user):
        return queryset.filter(pk=user.pk)

    def members(self, instance):
        return frozenset([instance.pk])


class Authenticated(Audience):
    """Every authenticated user."""

    names_users = False

    def filter(self, queryset, user):
        return queryset

    def members(self, instance):
        return EVERYONE
