"""`/metrics` in Prometheus' text format, and the HTTP request latency it reports.

prometheus-client rather than django-prometheus: the metrics that matter here are the realtime
layer's and the job queue's, which neither provides, and django-prometheus' model and
database-wrapper instrumentation would change the project's database backend setting for
figures we do not need; one middleware gives the request latency.

Each Daphne process counts its own sockets and requests and serves them itself, so Prometheus
scrapes every process on its own port, not through the load balancer (which would answer from
any one). prometheus-client's multiprocess mode is for pre-fork servers whose workers share
files; Daphne processes share nothing.

Not public: `/metrics` answers 404 unless METRICS_TOKEN is set, then 401 unless the request
carries `Authorization: Bearer <METRICS_TOKEN>`.
"""

import hmac
import time

from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.http import Http404, HttpResponse
from django.utils.decorators import sync_and_async_middleware
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Histogram, generate_latest

REQUEST_LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP requests by method, route (the URL pattern's name) and status.",
    ["method", "route", "status"],
)

# Any other method a client invents is counted as "other", so that it cannot grow the labels.
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def observe_latency(request, response, started: float) -> None:
    match = request.resolver_match
    REQUEST_LATENCY.labels(
        request.method if request.method in METHODS else "other",
        match.view_name if match else "unmatched",
        response.status_code,
    ).observe(time.perf_counter() - started)


@sync_and_async_middleware
def request_latency(get_response):
    """Times every request, from the first middleware to the response.

    Async under Daphne: a middleware that is sync only would run every request in a thread that
    waits on the event loop for the rest of the chain (async_to_sync), and waits forever if
    Daphne's loop ends first, which keeps the process from exiting."""
    if iscoroutinefunction(get_response):

        async def middleware(request):
            started = time.perf_counter()
            response = await get_response(request)
            observe_latency(request, response, started)
            return response

    else:

        def middleware(request):
            started = time.perf_counter()
            response = get_response(request)
            observe_latency(request, response, started)
            return response

    return middleware


def metrics(request):
    if not settings.METRICS_TOKEN:
        raise Http404
    expected = f"Bearer {settings.METRICS_TOKEN}".encode()
    if not hmac.compare_digest(request.headers.get("Authorization", "").encode(), expected):
        return HttpResponse(status=401, headers={"WWW-Authenticate": "Bearer"})
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
