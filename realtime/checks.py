"""The contract of a subscribable model, as system checks.

`manage.py check` lists every mistake of every subscribable model at once, each with its fix;
so does every command that runs the checks first (`migrate`, `runserver`, `db_worker`), and
stops. The `daphne` command runs no checks: deploy after `migrate`, as the Procfile does.
"""

from importlib import import_module

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.core import checks
from django.utils.module_loading import import_string
from model_utils import FieldTracker

from realtime import registry
from realtime.audiences import EVERYONE
from realtime.mixins import SubscribableQuerySet


@checks.register("realtime")
def check_subscribable_models(app_configs=None, **kwargs):
    """Checks every registered subscribable model."""
    for label in registry.labels():
        yield from check_model(registry.get(label))


def check_model(model):
    if not isinstance(getattr(model, "tracker", None), FieldTracker):
        yield checks.Error(
            "Subscribable, but has no FieldTracker.",
            hint="Declare `tracker = FieldTracker(fields=[...])` with the fields whose changes "
            "are events.",
            obj=model,
            id="realtime.E001",
        )
    if not model.realtime_representations:
        yield checks.Error(
            "Subscribable, but declares no realtime_representations.",
            hint="Add at least `realtime_representations = "
            "(Representation(<serializer>, audience=<Audience>),)`.",
            obj=model,
            id="realtime.E002",
        )
    else:
        yield from check_representations(model)
        if model.realtime_feed:
            yield from check_feed(model)
        if model.realtime_collection:
            yield from check_collection(model)
    if not isinstance(model._default_manager.get_queryset(), SubscribableQuerySet):
        yield checks.Error(
            "The default manager is not built from SubscribableQuerySet: "
            "`update_and_notify()` is missing from it.",
            hint="Build the manager from it: `objects = SubscribableQuerySet.as_manager()`, or "
            "`YourManager.from_queryset(SubscribableQuerySet)()`.",
            obj=model,
            id="realtime.E006",
        )


def check_representations(model):
    for index, representation in enumerate(model.realtime_representations):
        try:
            fields = representation.serializer_class().fields
        except ImportError as error:
            yield checks.Error(
                f"A representation names a serializer that does not import: {error}",
                hint="Name the serializer by its dotted path: `app.serializers.FooSerializer`.",
                obj=model,
                id="realtime.E007",
            )
            continue
        name = representation.serializer_class.__name__
        if "id" not in fields:
            yield checks.Error(
                f"The representation {name} has no `id` field.",
                hint="Add the model's public id field as `id`: events name the object with it, "
                "and subscriptions decode the ids clients send with the first representation's.",
                obj=model,
                id="realtime.E003",
            )
        elif index == 0:
            yield from check_public_id(model, name, fields["id"])


def check_public_id(model, name, id_field):
    """The first representation's `id` field is the model's public-id codec: a client subscribes
    with the id it was shown, sent as a string, and the field must decode it to the same key."""
    pk = model._meta.pk.to_python(1)
    try:
        decoded = id_field.to_internal_value(str(id_field.to_representation(pk)))
    except Exception as error:  # Whatever the field raises, an event or a subscription would.
        decoded = error
    if decoded != pk:
        yield checks.Error(
            f"The `id` field of {name}, the first representation, does not decode the ids it "
            f"renders: primary key {pk!r} comes back as {decoded!r}.",
            hint="Make `id` a field whose to_internal_value(str(to_representation(pk))) == pk, "
            "such as the model's public-id field: subscriptions decode ids with it.",
            obj=model,
            id="realtime.E004",
        )


def check_feed(model):
    """A feed's events go to the groups of its first audience's users, who must be named."""
    audience = model.realtime_representations[0].audience
    if audience.members(model()) is EVERYONE:
        yield checks.Error(
            f"A feed (realtime_feed = True) whose first audience, {type(audience).__name__}(), "
            "names no users: a save would not know whom to tell.",
            hint="Put an audience that names users first (`Owner(<field>)`, `Itself()`), or set "
            "`realtime_feed = False` so that clients subscribe to each object.",
            obj=model,
            id="realtime.E005",
        )


def check_collection(model):
    """A change tells a collection's followers who gained and who lost access only from the
    previous values of the fields its audiences read, which only the tracker keeps."""
    tracker = getattr(model, "tracker", None)
    if not isinstance(tracker, FieldTracker):
        return  # E001 says so.
    tracked = set(tracker.fields)
    for representation in model.realtime_representations:
        untracked = [field for field in representation.audience.fields if field not in tracked]
        if untracked:
            audience = type(representation.audience).__name__
            yield checks.Error(
                f"A collection (realtime_collection = True) whose audience {audience} reads "
                f"untracked fields: {', '.join(untracked)}. A change of them would not tell "
                "who lost access (DELETE_, 'access_lost') or gained it (CREATE_).",
                hint=f"Add {', '.join(repr(field) for field in untracked)} to the model's "
                "FieldTracker(fields=[...]).",
                obj=model,
                id="realtime.E010",
            )


@checks.register(checks.Tags.security)
def check_session_storage(app_configs, **kwargs) -> list[checks.Error]:
    errors = []
    store = import_module(settings.SESSION_ENGINE).SessionStore
    if not issubclass(store, DatabaseSessionStore):
        errors.append(
            checks.Error(
                f"SESSION_ENGINE {settings.SESSION_ENGINE!r} keeps sessions outside the "
                "database, where WebSocket sessions are re-checked.",
                hint="Use 'django.contrib.sessions.backends.db' (Django's default).",
                id="realtime.E008",
            )
        )
    for path in settings.AUTHENTICATION_BACKENDS:
        if not issubclass(import_string(path), ModelBackend):
            errors.append(
                checks.Error(
                    f"Authentication backend {path!r} is no ModelBackend: WebSocket sessions "
                    "are re-checked against users read the way ModelBackend reads them.",
                    hint="Derive it from django.contrib.auth.backends.ModelBackend.",
                    id="realtime.E009",
                )
            )
    return errors
