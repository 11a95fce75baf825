from django.contrib.auth import authenticate
from django.utils import timezone
from rest_framework import serializers

from api.fields import HashidField
from api.models import ApiToken, Foo, Job, User


class UserSerializer(serializers.ModelSerializer):
    """A user as they see themselves."""

    id = HashidField(User, read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "email", "first_name", "last_name", "date_joined"]
        read_only_fields = ["username", "date_joined"]


class PublicUserSerializer(serializers.ModelSerializer):
    """A user as everyone else sees them."""

    id = HashidField(User, read_only=True)

    class Meta:
        model = User
        fields = ["id", "username"]
        read_only_fields = fields


class FooSerializer(serializers.ModelSerializer):
    id = HashidField(Foo, read_only=True)
    owner = HashidField(
        User,
        source="owner_id",
        required=False,
        help_text="Set to the caller on creation; PATCH it to transfer the Foo to another user.",
    )

    class Meta:
        model = Foo
        fields = ["id", "bar", "owner", "created_at", "updated_at", "version"]
        read_only_fields = ["created_at", "updated_at", "version"]

    def validate_owner(self, pk):
        if self.instance is None:
            raise serializers.ValidationError(
                "A new Foo belongs to its creator; transfer it afterwards with PATCH."
            )
        if not User.objects.filter(pk=pk, is_active=True).exists():
            raise serializers.ValidationError("No such user.")
        return pk


class LoginSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, style={"input_type": "password"})

    def validate(self, data):
        user = authenticate(
            self.context["request"], username=data["username"], password=data["password"]
        )
        if user is None:
            raise serializers.ValidationError(
                "Unable to log in with these credentials.", code="authorization"
            )
        data["user"] = user
        return data


class JobProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField(read_only=True)
    total = serializers.IntegerField(read_only=True, allow_null=True)
    percent = serializers.FloatField(read_only=True, allow_null=True)


class JobSerializer(serializers.ModelSerializer):
    """A background job as its owner sees it, over REST and in UPDATE_JOB events."""

    id = HashidField(Job, read_only=True)
    progress = JobProgressSerializer(source="*", read_only=True)

    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "state",
            "progress",
            "message",
            "result",
            "error",
            "created_at",
            "started_at",
            "finished_at",
            "version",
        ]
        read_only_fields = fields


MAX_IMPORT_ITEMS = 100_000


class FooImportSerializer(serializers.Serializer):
    """The envelope of an import. Each item is validated as a new Foo later, by the job: an
    invalid item is listed in the job's result and does not stop the import."""

    items = serializers.ListField(
        child=serializers.DictField(),
        allow_empty=False,
        max_length=MAX_IMPORT_ITEMS,
        help_text=f'Up to {MAX_IMPORT_ITEMS:,} new Foos, such as `{{"bar": "..."}}`.',
    )


class ApiTokenSerializer(serializers.ModelSerializer):
    """A personal API token as its owner lists it: never the secret."""

    id = HashidField(ApiToken, read_only=True)

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "expires_at"]
        read_only_fields = ["prefix", "created_at", "last_used_at"]
        # Optional and nullable, as the model field is.
        extra_kwargs = {
            "expires_at": {"help_text": "When the token stops working; null or absent: never."}
        }

    def validate_expires_at(self, value):
        if value is not None and value <= timezone.now():
            raise serializers.ValidationError("An expiry must be in the future.")
        return value


class NewApiTokenSerializer(ApiTokenSerializer):
    token = serializers.CharField(
        source="secret",
        read_only=True,
        help_text="The secret, shown in this response only: send it as `Authorization: Bearer`.",
    )

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]
