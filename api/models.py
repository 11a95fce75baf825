from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from model_utils import FieldTracker

from realtime.audiences import Authenticated, Itself, Owner
from realtime.mixins import Representation, Subscribable, SubscribableQuerySet


class SubscribableUserManager(UserManager.from_queryset(SubscribableQuerySet)):
    pass


class User(Subscribable, AbstractUser):
    """The project's user: Django's, made subscribable.

    A user sees their own full profile; every other authenticated user a public one.
    """

    tracker = FieldTracker(fields=["username", "email", "first_name", "last_name", "is_active"])
    realtime_representations = (
        Representation("api.serializers.UserSerializer", audience=Itself()),
        Representation("api.serializers.PublicUserSerializer", audience=Authenticated()),
    )

    objects = SubscribableUserManager()

    @classmethod
    def realtime_queryset(cls):
        return cls._default_manager.filter(is_active=True)

    def is_realtime_visible(self) -> bool:
        return self.is_active


class Foo(Subscribable, models.Model):
    bar = models.CharField(max_length=100)
    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="foos")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    tracker = FieldTracker(fields=["bar", "owner"])
    realtime_representations = (
        Representation("api.serializers.FooSerializer", audience=Owner("owner")),
    )

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return self.bar
