from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import mixins, permissions, viewsets

from api.models import User
from api.schema import AUTH_ERRORS, NOT_FOUND, write_errors
from api.serializers import PublicUserSerializer, UserSerializer
from api.views.mixins import RowLockMixin

ANY_USER = PolymorphicProxySerializer(
    "AnyUser",
    serializers=[UserSerializer, PublicUserSerializer],
    resource_type_field_name=None,
)


class IsSelf(permissions.BasePermission):
    message = "You can only change your own profile."

    def has_object_permission(self, request, view, obj):
        return request.method in permissions.SAFE_METHODS or obj.pk == request.user.pk


class UserViewSet(
    RowLockMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet
):
    """Active users. Each caller gets the representation the realtime layer would send them:
    the full profile for themself, the public one for anyone else."""

    permission_classes = [permissions.IsAuthenticated, IsSelf]
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self):
        return User.visible_to(self.request.user)

    def get_serializer(self, instance=None, *args, **kwargs):
        representation = instance.representation_for(self.request.user.pk)
        kwargs.setdefault("context", self.get_serializer_context())
        return representation.serializer_class(instance, *args, **kwargs)

    @extend_schema(responses={200: ANY_USER, **AUTH_ERRORS, 404: NOT_FOUND})
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        request=UserSerializer,
        responses={
            200: UserSerializer,
            **write_errors("Not your own profile, or a session without its CSRF token."),
            404: NOT_FOUND,
        },
    )
    def partial_update(self, request, *args, **kwargs):
        return super().partial_update(request, *args, **kwargs)
