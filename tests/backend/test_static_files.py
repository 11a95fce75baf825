"""WhiteNoise's static files through the ASGI handler Daphne runs (backend/static_files.py),
where the middleware is async; the sync test client covers WhiteNoise's own sync path."""

import pytest
from django.test import AsyncClient

pytestmark = pytest.mark.django_db

SWAGGER_CSS = "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css"


@pytest.mark.parametrize("autorefresh", [False, True], ids=["as deployed", "DEBUG's autorefresh"])
async def test_a_static_file_is_served_over_asgi(settings, autorefresh):
    settings.WHITENOISE_AUTOREFRESH = autorefresh

    response = await AsyncClient().get(SWAGGER_CSS)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    assert b"".join(response.streaming_content).startswith(b".swagger")


async def test_other_paths_reach_the_views_over_asgi():
    response = await AsyncClient().get("/api/health/live")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
