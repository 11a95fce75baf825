import pytest


@pytest.mark.parametrize("path", ["/api/users", "/api/nothing/here", "/api/foo/a/b"])
def test_unknown_api_path_is_a_json_404(anonymous_api, path):
    response = anonymous_api.post(path, {}, format="json")
    assert response.status_code == 404
    assert response.json() == {"detail": "No such endpoint."}
