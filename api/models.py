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
    realtime_collection = True

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
    # The import that created this Foo, and the item's index in it (see api.jobs.imports).
    import_job = models.ForeignKey(
        "Job", null=True, blank=True, editable=False, on_delete=models.SET_NULL, related_name="+"
    )
    import_index = models.PositiveIntegerField(null=True, blank=True, editable=False)

    tracker = FieldTracker(fields=["bar", "owner"])
    realtime_representations = (
        Representation("api.serializers.FooSerializer", audience=Owner("owner")),
    )
    realtime_collection = True

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # An import item becomes one Foo however often its job runs.
            models.UniqueConstraint(
                fields=["import_job", "import_index"], name="foo_unique_import_item"
            ),
        ]

    def __str__(self):
        return self.bar


class Job(Subscribable, models.Model):
    """Work done in the background for a user, who follows it live (see api.jobs).

    A feed: every socket of the owner hears of each change from creation to the end, unasked.
    """

    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    class Kind(models.TextChoices):
        FOO_IMPORT = "foo.import"

    FINISHED = frozenset({State.SUCCEEDED, State.FAILED, State.CANCELLED})

    kind = models.CharField(max_length=50, choices=Kind.choices)
    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="jobs")
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(null=True, blank=True)
    message = models.CharField(max_length=200, blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The job's arguments, which may be large: never read with the job unless the job runs.
    input = models.JSONField(default=dict, blank=True)
    # Set by the cancel endpoint; the runner acts on it at the job's next saved progress report.
    cancel_requested = models.BooleanField(default=False)
    # Touched by the runner while it runs the job; a stale one means its worker died.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Runs started so far: the reaper requeues a dead job until JOBS["MAX_ATTEMPTS"].
    attempts = models.PositiveSmallIntegerField(default=0)
    # The id of the task (django_tasks_db's DBTaskResult) of the latest run.
    task_id = models.CharField(max_length=64, blank=True)

    tracker = FieldTracker(fields=["state", "done", "total", "message", "result", "error", "owner"])
    realtime_representations = (
        Representation("api.serializers.JobSerializer", audience=Owner("owner")),
    )
    realtime_feed = True
    realtime_collection = True

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["state", "heartbeat_at"], name="job_state_heartbeat")]

    def __str__(self):
        return f"{self.kind} {self.pk} ({self.state})"

    @classmethod
    def realtime_queryset(cls):
        return cls._default_manager.defer("input")

    @property
    def is_finished(self) -> bool:
        return self.state in self.FINISHED

    @property
    def percent(self) -> float | None:
        if self.total is None:
            return None
        if self.total == 0:
            return 100.0
        return round(100 * self.done / self.total, 1)


class ApiToken(models.Model):
    """A personal API token (see api.tokens): the secret is shown once, only its digest is kept.

    Revoking a token deletes it; its sockets are closed at once (api.tokens.on_token_delete)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    # SHA-256 of the whole secret, the key a request is looked up by.
    digest = models.CharField(max_length=64, unique=True, editable=False)
    # The first characters of the secret, so that its owner can tell which token a secret is.
    prefix = models.CharField(max_length=12, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"
