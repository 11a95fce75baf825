from rest_framework import serializers

from realtime import registry
from realtime.conf import realtime_setting


class RequestIdField(serializers.Field):
    """A client's correlation id, echoed back in `meta.request_id`: a string or an integer."""

    default_error_messages = {"invalid": "Must be a string or an integer."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (str, int)):
            self.fail("invalid")
        if isinstance(data, str) and len(data) > 100:
            raise serializers.ValidationError("Must be at most 100 characters.")
        return data


class SubscriptionSerializer(serializers.Serializer):
    """A client's `{"model", "id"?, "action"?, "request_id"?}` message; without an `id`, the
    model's collection (every object of it the user can see)."""

    model = serializers.CharField(max_length=100)
    id = serializers.CharField(max_length=100, required=False)
    action = serializers.ChoiceField(["subscribe", "unsubscribe"], default="subscribe")
    request_id = RequestIdField(required=False)

    def validate_model(self, label):
        model = registry.get(label)
        if model is None:
            subscribable = ", ".join(registry.labels())
            raise serializers.ValidationError(
                f"'{label}' is not subscribable. Subscribable models: {subscribable}."
            )
        return model

    def validate(self, data):
        model = data["model"]
        if "id" not in data:
            if not model.realtime_collection:
                collections = ", ".join(
                    label for label in registry.labels() if registry.get(label).realtime_collection
                )
                raise serializers.ValidationError(
                    {
                        "id": f"'{model._meta.label}' cannot be followed as a collection: name "
                        f"one object's id. Collections: {collections}."
                    }
                )
            data["pk"] = None
            return data
        id_field = model.realtime_representations[0].id_field
        try:
            data["pk"] = id_field.to_internal_value(data["id"])
        except serializers.ValidationError as error:
            raise serializers.ValidationError({"id": error.detail}) from error
        return data


class BatchSerializer(serializers.Serializer):
    """A client's `{"subscribe": [{"model", "id"?, "request_id"?}, ...], "request_id"?}`: several
    subscriptions in one message, each item a subscription message of its own, validated and
    answered as if sent alone (a reconnecting client resubscribes to everything at once). The
    outer `request_id` names the batch in an error about the whole message."""

    subscribe = serializers.ListField(child=serializers.DictField(), allow_empty=False)
    request_id = RequestIdField(required=False)

    def validate_subscribe(self, items):
        limit = realtime_setting("MAX_SUBSCRIPTIONS")
        if len(items) > limit:
            raise serializers.ValidationError(
                f"At most {limit} subscriptions per batch, as many as a socket may hold."
            )
        return items


class BatchItemSerializer(SubscriptionSerializer):
    """One item of a batch: a subscription, never an unsubscription."""

    action = serializers.ChoiceField(["subscribe"], default="subscribe")
