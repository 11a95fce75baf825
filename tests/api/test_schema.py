import json
import re

import pytest
from django.conf import settings
from django.core.management import call_command

SCHEMA_FILE = settings.BASE_DIR / "openapi" / "schema.yaml"
PUBLIC = {
    ("/api/auth/csrf/", "get"),
    ("/api/auth/login/", "post"),
    ("/api/health/", "get"),
    ("/api/health/live/", "get"),
    ("/api/health/ready/", "get"),
}
SIDECAR = "/static/drf_spectacular_sidecar/swagger-ui-dist/"


@pytest.fixture
def schema(anonymous_api, db):
    return json.loads(anonymous_api.get("/api/schema", {"format": "json"}).content)


def operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def resolve(schema, node):
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def test_committed_schema_matches_the_code(tmp_path):
    generated = tmp_path / "schema.yaml"

    call_command("spectacular", "--file", str(generated), "--validate", "--fail-on-warn")

    assert generated.read_text() == SCHEMA_FILE.read_text(), (
        "openapi/schema.yaml is out of date: run `make schema` and commit it"
    )


def test_schema_is_served_as_openapi_yaml(anonymous_api, db):
    response = anonymous_api.get("/api/schema")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    assert response.content.startswith(b"openapi: 3.0.3")


def test_schema_documents_the_auth_foo_user_and_health_endpoints(schema):
    assert {(path, method) for path, method, _ in operations(schema)} >= {
        ("/api/auth/csrf/", "get"),
        ("/api/auth/login/", "post"),
        ("/api/auth/logout/", "post"),
        ("/api/auth/me/", "get"),
        ("/api/foo/", "get"),
        ("/api/foo/", "post"),
        ("/api/foo/{id}/", "get"),
        ("/api/foo/{id}/", "put"),
        ("/api/foo/{id}/", "patch"),
        ("/api/foo/{id}/", "delete"),
        ("/api/health/", "get"),
        ("/api/health/live/", "get"),
        ("/api/health/ready/", "get"),
        ("/api/users/{id}/", "get"),
        ("/api/users/{id}/", "patch"),
    }


def test_ids_in_paths_are_strings(schema):
    for path, _, operation in operations(schema):
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path":
                assert parameter["schema"]["type"] == "string", (path, parameter)


@pytest.mark.parametrize(
    ("component", "fields"),
    [
        ("Foo", ["id", "owner"]),
        ("FooRequest", ["owner"]),
        ("User", ["id"]),
        ("PublicUser", ["id"]),
    ],
)
def test_ids_in_bodies_are_strings(schema, component, fields):
    properties = schema["components"]["schemas"][component]["properties"]

    for field in fields:
        assert properties[field]["type"] == "string"


def test_every_operation_but_the_public_ones_documents_the_401(schema):
    for path, method, operation in operations(schema):
        if (path, method) not in PUBLIC:
            detail = resolve(schema, operation["responses"]["401"]["content"]["application/json"])
            assert detail == {"schema": {"$ref": "#/components/schemas/Detail"}}, (path, method)


def test_every_operation_with_a_body_documents_its_errors(schema):
    for path, method, operation in operations(schema):
        if "requestBody" in operation:
            assert {"400", "413", "415"} <= set(operation["responses"]), (path, method)


def test_every_operation_on_an_id_documents_the_404(schema):
    for path, method, operation in operations(schema):
        if "{id}" in path:
            assert "404" in operation["responses"], (path, method)


def test_every_documented_response_body_is_json(schema):
    for _, _, operation in operations(schema):
        for response in operation["responses"].values():
            assert set(response.get("content", {"application/json": None})) == {"application/json"}


def test_a_validation_error_is_field_messages_or_a_detail(schema):
    invalid = schema["components"]["schemas"]["Invalid"]

    assert invalid == {
        "oneOf": [
            {"$ref": "#/components/schemas/FieldErrors"},
            {"$ref": "#/components/schemas/Detail"},
        ]
    }
    assert schema["components"]["schemas"]["FieldErrors"]["additionalProperties"] == {
        "type": "array",
        "items": {"type": "string"},
    }


def test_bearer_token_and_session_cookie_are_the_security_schemes(schema):
    assert schema["components"]["securitySchemes"] == {
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token from `POST /api/auth/tokens`. No CSRF token "
            "is needed.",
        },
        "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "sessionid"},
    }


def test_tokens_are_created_from_the_session_only(schema):
    assert schema["paths"]["/api/auth/tokens/"]["post"]["security"] == [{"cookieAuth": []}]
    assert schema["paths"]["/api/foo/"]["get"]["security"] == [
        {"bearerAuth": []},
        {"cookieAuth": []},
    ]


def test_docs_page_is_swagger_ui_from_local_sidecar_assets(anonymous_api, db):
    response = anonymous_api.get("/api/docs")

    html = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert f"{SIDECAR}swagger-ui-bundle.js" in html
    assert f"{SIDECAR}swagger-ui.css" in html
    assert "/api/schema" in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html), (
        "the docs page loads from another host"
    )
    assert "cdn" not in html.lower()


@pytest.mark.parametrize(
    ("asset", "content_type"),
    [("swagger-ui-bundle.js", "text/javascript"), ("swagger-ui.css", "text/css")],
)
def test_the_docs_assets_are_served_by_the_app(anonymous_api, asset, content_type):
    response = anonymous_api.get(f"{SIDECAR}{asset}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith(content_type)


@pytest.mark.parametrize("path", ["/api/foo/", "/api/foo/{id}/"])
def test_schema_documents_conditional_reads_of_foos(schema, path):
    operation = schema["paths"][path]["get"]

    assert "If-None-Match" in {parameter["name"] for parameter in operation["parameters"]}
    assert "content" not in operation["responses"]["304"]
    assert "ETag" in operation["responses"]["304"]["headers"]
