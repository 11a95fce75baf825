from django.http import JsonResponse


def unknown_endpoint(request, *args, **kwargs):
    """A JSON 404 for any path under /api/ that names no endpoint, so that clients parsing every
    API response as JSON never meet Django's HTML error page."""
    return JsonResponse({"detail": "No such endpoint."}, status=404)
