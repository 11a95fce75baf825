"""Django's ASGI handler, with the middleware chain and the view run in one thread hop.

Django's own ASGI handler runs its middleware in async mode, and a middleware written the usual
way (`MiddlewareMixin`, Django's own included) runs each of its hooks through `sync_to_async`
in async mode: with this project's stack and a sync DRF view, a PATCH crossed between the
event loop and a thread 18 times, each crossing a round trip through the loop's queue that
waits behind whatever else the loop serves (socket frames, the hub's fan-out). Every view here
is sync, and so is every hook, so nothing gains from the async chain: this handler loads the
chain in sync mode, as WSGI (and Django's test client) run it, and calls it in one
`sync_to_async`, keeping the per-request thread (`ThreadSensitiveContext`) that the async
handler gives each request. Reading the body, `request_started` and writing the response stay
on the loop as before.
"""

from asgiref.sync import sync_to_async
from django.core.handlers import asgi


class ASGIHandler(asgi.ASGIHandler):
    def load_middleware(self, is_async=False):
        super().load_middleware(is_async=False)

    async def get_response_async(self, request):
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)
