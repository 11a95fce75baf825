"""ASGI entry point: HTTP to Django, `ws/notifications/` to the realtime consumer.

A socket that offers an API token (api/socket_auth.py) is authenticated by it alone. Any other
goes through the Origin check against ALLOWED_HOSTS (a page elsewhere cannot ride the user's
cookies) and authenticates from the session cookie (realtime/session_auth.py). Both are the
consumer's authentication classes, not middleware: every ASGI layer would hold a coroutine frame
and a copy of the scope for as long as its socket is open.
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
django.setup(set_prefix=False)

from backend.handlers import ASGIHandler  # noqa: E402  (needs the apps loaded)

# Django's handler, but one thread hop per request (backend/handlers.py says why).
django_asgi_app = ASGIHandler()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from realtime.routing import websocket_urlpatterns  # noqa: E402

# No middleware on the socket: its consumer authenticates it (REALTIME["AUTHENTICATION_CLASSES"]).
application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": URLRouter(websocket_urlpatterns),
    }
)

from api.jobs import embedded  # noqa: E402
from api.jobs.conf import jobs_setting  # noqa: E402
from backend import garbage  # noqa: E402
from realtime import draining  # noqa: E402

# SIGTERM drains this process's sockets over a window rather than closing them all at once.
draining.start_with_server()

# The garbage collector, set for a server's long-lived objects once it runs.
garbage.start_with_server()

if jobs_setting("EMBEDDED_WORKER"):
    # Without Redis, only this process's sockets can hear a job's events: run jobs here too.
    embedded.start_with_server()
