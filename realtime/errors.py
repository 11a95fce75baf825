"""What a client can get wrong on the socket: one exception per condition.

Each becomes an `ERROR` event with its `code`; the socket stays open.
"""


class SocketError(Exception):
    code: str
    detail: str

    def __init__(
        self, detail: str | None = None, errors: dict | None = None, request_id=None
    ) -> None:
        super().__init__(detail or self.detail)
        self.detail = detail or self.detail
        self.errors = errors
        # The id of the request it answers, where the message failed before one was validated.
        self.request_id = request_id


class ParseError(SocketError):
    code = "parse_error"
    detail = "The message is not valid JSON."


class Invalid(SocketError):
    code = "invalid"
    detail = "The message is not a valid subscription."


class NotAuthenticated(SocketError):
    code = "not_authenticated"
    detail = "Log in to subscribe."


class NotFound(SocketError):
    """The object does not exist for this user (absent, or not theirs: the same to them)."""

    code = "not_found"
    detail = "No such object."


class TooManySubscriptions(SocketError):
    code = "too_many_subscriptions"
    detail = "This socket holds as many subscriptions as it may; unsubscribe from some first."


class Throttled(SocketError):
    code = "throttled"
    detail = "Too many messages; slow down."


class AuthenticationFailed(SocketError):
    """Credentials the socket was opened with were refused: the one error that then closes the
    socket (with 4401), since a socket authenticates once, when it opens."""

    code = "authentication_failed"
    detail = "The credentials were refused."
