"""ASGI entry point: HTTP to Django, `ws/notifications/` to the realtime consumer.

The WebSocket stack checks the Origin against ALLOWED_HOSTS (a page elsewhere cannot ride the
user's cookies) and authenticates from the session cookie.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs the apps loaded)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from realtime.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)

from api.jobs import embedded  # noqa: E402
from api.jobs.conf import jobs_setting  # noqa: E402
from realtime import draining  # noqa: E402

# SIGTERM drains this process's sockets over a window rather than closing them all at once.
draining.start_with_server()

if jobs_setting("EMBEDDED_WORKER"):
    # Without Redis, only this process's sockets can hear a job's events: run jobs here too.
    embedded.start_with_server()
