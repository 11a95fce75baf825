"""REST authentication: a personal API token (`Authorization: Bearer <token>`) or the session.

The token class comes first in `DEFAULT_AUTHENTICATION_CLASSES`: DRF answers an unauthenticated
request with the first class's `WWW-Authenticate` challenge, so anonymous callers get 401 with
`WWW-Authenticate: Bearer` (the session class has no challenge, and DRF would answer 403).
A request that sends a token is judged by the token alone, and needs no CSRF token: only a
cookie, which a browser sends on its own, does.
"""

from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication, get_authorization_header

from api import tokens


class BearerTokenAuthentication(TokenAuthentication):
    """DRF's header parsing and challenge, checking the secret against its digest."""

    keyword = "Bearer"

    def authenticate(self, request):
        if tokens.in_query(request.query_params):
            raise exceptions.AuthenticationFailed(tokens.QUERY_DETAIL)
        scheme = get_authorization_header(request).partition(b" ")[0]
        if scheme and scheme.lower() != self.keyword.lower().encode():
            raise exceptions.AuthenticationFailed(
                f"Unsupported authorization scheme {scheme.decode(errors='replace')!r}: "
                "send `Authorization: Bearer <token>`."
            )
        return super().authenticate(request)

    def authenticate_credentials(self, key):
        try:
            token = tokens.authenticate(key)
        except tokens.TokenError as error:
            raise exceptions.AuthenticationFailed(error.detail) from None
        return token.user, token
