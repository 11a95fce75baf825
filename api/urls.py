from django.urls import re_path
from rest_framework.routers import SimpleRouter

from api.views.auth import CsrfView, LoginView, LogoutView, MeView
from api.views.errors import unknown_endpoint
from api.views.foos import FooViewSet
from api.views.health import HealthView, LivenessView, ReadinessView
from api.views.imports import FooImportView
from api.views.jobs import JobViewSet
from api.views.tokens import ApiTokenViewSet
from api.views.users import UserViewSet


class OptionalSlashRouter(SimpleRouter):
    """Routes `/api/foo` and `/api/foo/` alike: SPAs are not consistent about the slash."""

    def __init__(self):
        super().__init__()
        self.trailing_slash = "/?"


router = OptionalSlashRouter()
router.register("foo", FooViewSet, basename="foo")
router.register("users", UserViewSet, basename="user")
router.register("jobs", JobViewSet, basename="job")
router.register("auth/tokens", ApiTokenViewSet, basename="token")

urlpatterns = [
    re_path(r"^auth/csrf/?$", CsrfView.as_view(), name="auth-csrf"),
    re_path(r"^auth/login/?$", LoginView.as_view(), name="auth-login"),
    re_path(r"^auth/logout/?$", LogoutView.as_view(), name="auth-logout"),
    re_path(r"^auth/me/?$", MeView.as_view(), name="auth-me"),
    re_path(r"^health/?$", HealthView.as_view(), name="health"),
    re_path(r"^health/live/?$", LivenessView.as_view(), name="health-live"),
    re_path(r"^health/ready/?$", ReadinessView.as_view(), name="health-ready"),
    # Before the router's, whose `foo/<id>` would take it.
    re_path(r"^foo/import/?$", FooImportView.as_view(), name="foo-import"),
    *router.urls,
    re_path(r"", unknown_endpoint),
]
