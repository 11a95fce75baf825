from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, permissions, viewsets

from api import tokens
from api.models import ApiToken
from api.schema import AUTH_ERRORS, NOT_FOUND, UNSAFE_AUTH_ERRORS, write_errors
from api.serializers import ApiTokenSerializer, NewApiTokenSerializer
from api.views.mixins import HashidLookupMixin


class NotMintedByToken(permissions.BasePermission):
    """Tokens are created from a session: a token that could create tokens would outlive its
    own expiry and revocation through the ones it made."""

    message = "A token cannot create tokens: log in and create it from the session."

    def has_permission(self, request, view):
        return view.action != "create" or not isinstance(request.auth, ApiToken)


@extend_schema_view(
    list=extend_schema(responses={200: ApiTokenSerializer(many=True), **AUTH_ERRORS}),
    create=extend_schema(
        request=ApiTokenSerializer,
        responses={
            201: NewApiTokenSerializer,
            **write_errors("Sent with a token, or a session without its CSRF token."),
        },
        auth=[{"cookieAuth": []}],
    ),
    destroy=extend_schema(responses={204: None, **UNSAFE_AUTH_ERRORS, 404: NOT_FOUND}),
)
class ApiTokenViewSet(
    HashidLookupMixin,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The caller's personal API tokens, for clients that cannot use the session cookie.

    The secret is in the creation's response only; deleting a token revokes it, and closes its
    sockets with 4401."""

    permission_classes = [permissions.IsAuthenticated, NotMintedByToken]

    def get_queryset(self):
        return ApiToken.objects.filter(user=self.request.user)

    def get_serializer_class(self):
        return NewApiTokenSerializer if self.action == "create" else ApiTokenSerializer

    def perform_create(self, serializer):
        token, secret = tokens.issue(self.request.user, **serializer.validated_data)
        token.secret = secret  # for this response only
        serializer.instance = token
