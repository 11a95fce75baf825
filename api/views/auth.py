from datetime import timedelta

from django.conf import settings
from django.contrib.auth import login, logout
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.response import Response
from rest_framework.views import APIView

from api.models import ApiToken
from api.schema import AUTH_ERRORS, BODY_ERRORS, CSRF_FAILED, NOT_AUTHENTICATED, UNSAFE_AUTH_ERRORS
from api.serializers import LoginSerializer, UserSerializer


class CsrfChecked(permissions.BasePermission):
    """Requires the CSRF token from anonymous callers too: DRF only checks it for callers that a
    session authenticated. The check is DRF's own, so a failure is its usual JSON 403."""

    def has_permission(self, request, view):
        SessionAuthentication().enforce_csrf(request)
        return True


@method_decorator(ensure_csrf_cookie, name="get")
class CsrfView(APIView):
    """Sets the `csrftoken` cookie; send its value as `X-CSRFToken` on unsafe requests."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={204: None}, summary="Get a CSRF cookie")
    def get(self, request):
        return Response(status=status.HTTP_204_NO_CONTENT)


class LoginView(APIView):
    """Logs in with a session cookie.

    CSRF is checked here too: a login form that any site can post to lets an attacker log a
    victim into the attacker's account.
    """

    permission_classes = [permissions.AllowAny, CsrfChecked]

    @extend_schema(
        request=LoginSerializer,
        responses={200: UserSerializer, **BODY_ERRORS, 401: NOT_AUTHENTICATED, 403: CSRF_FAILED},
        summary="Log in",
    )
    def post(self, request):
        credentials = LoginSerializer(data=request.data, context={"request": request})
        credentials.is_valid(raise_exception=True)
        user = credentials.validated_data["user"]
        login(request, user)
        # An absolute expiry is stored in the session itself, so a socket knows when its
        # session ends without asking the session store on every event.
        request.session.set_expiry(timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE))
        return Response(UserSerializer(user).data)


class LogoutView(APIView):
    """Ends the session, or revokes the API token the request was sent with; every socket
    opened with either is closed (code 4401)."""

    @extend_schema(request=None, responses={204: None, **UNSAFE_AUTH_ERRORS}, summary="Log out")
    def post(self, request):
        if isinstance(request.auth, ApiToken):
            request.auth.delete()
        else:
            logout(request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    @extend_schema(responses={200: UserSerializer, **AUTH_ERRORS}, summary="The current user")
    def get(self, request):
        return Response(UserSerializer(request.user).data)
