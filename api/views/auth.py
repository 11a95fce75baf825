from datetime import timedelta

from django.conf import settings
from django.contrib.auth import login, logout
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_protect, ensure_csrf_cookie
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from api.schema import INVALID, NOT_AUTHENTICATED
from api.serializers import LoginSerializer, UserSerializer


@method_decorator(ensure_csrf_cookie, name="get")
class CsrfView(APIView):
    """Sets the `csrftoken` cookie; send its value as `X-CSRFToken` on unsafe requests."""

    permission_classes = [AllowAny]

    @extend_schema(responses={204: None}, summary="Get a CSRF cookie")
    def get(self, request):
        return Response(status=status.HTTP_204_NO_CONTENT)


@method_decorator(csrf_protect, name="post")
class LoginView(APIView):
    """Logs in with a session cookie.

    CSRF is checked here too (DRF only checks it for authenticated users): a login form that any
    site can post to lets an attacker log a victim into the attacker's account.
    """

    permission_classes = [AllowAny]

    @extend_schema(
        request=LoginSerializer,
        responses={200: UserSerializer, 400: INVALID, 403: NOT_AUTHENTICATED},
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
    """Ends the session; every socket opened with it is closed (code 4401)."""

    @extend_schema(request=None, responses={204: None, 403: NOT_AUTHENTICATED}, summary="Log out")
    def post(self, request):
        logout(request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    @extend_schema(
        responses={200: UserSerializer, 403: OpenApiResponse(description="Not logged in.")},
        summary="The current user",
    )
    def get(self, request):
        return Response(UserSerializer(request.user).data)
