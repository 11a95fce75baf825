"""WhiteNoise's middleware (the admin's and Swagger UI's static files), async under Daphne.

WhiteNoise 6's middleware is sync only, so Django would run every request through it in a thread
that waits on the event loop for the rest of the chain (async_to_sync), and waits forever if
Daphne's loop ends first, which keeps the process from exiting. Here the rest of the chain is
awaited on the loop, and only a static file's opening goes to a thread. The lookup is
WhiteNoise's own.
"""

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from whitenoise.middleware import WhiteNoiseMiddleware


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    async_capable = True

    def __init__(self, get_response):
        super().__init__(get_response)
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        return super().__call__(request)

    async def __acall__(self, request):
        # Found in a dict, or (WHITENOISE_AUTOREFRESH, with DEBUG) by a look at the disk.
        if self.autorefresh:
            static_file = self.find_file(request.path_info)
        else:
            static_file = self.files.get(request.path_info)
        if static_file is not None:
            return await sync_to_async(self.serve)(static_file, request)
        return await self.get_response(request)
