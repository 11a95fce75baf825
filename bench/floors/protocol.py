"""What the floors share: the benchmark's protocol without Django, and the HTTP side of the two
that Daphne serves (plain ASGI).

Objects are whatever the client names; each has a version that a PATCH bumps. Frames have the
shape and about the size of ours (`{"type": "UPDATE_FOO", "payload": {...}, "meta": {...}}`).
"""

import asyncio
import json
import re

UPDATE_PATH = re.compile(r"^/api/(?P<collection>foo|users)/(?P<id>[^/]+)/?$")
MODELS = {"foo": "api.Foo", "users": "api.User"}
# Static fields standing in for the rest of a serialized object, so frames weigh like ours.
FILLER = {
    "owner": "jR4nVq8w",
    "created_at": "2026-01-01T00:00:00.000000Z",
    "updated_at": "2026-01-01T00:00:00.000000Z",
}


def encode(message: dict) -> str:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


def group_name(key: str) -> str:
    """A channel-layer group name for an object key (`api.Foo|jR4nVq8w`)."""
    return "floor." + key.replace("|", ".")


class Objects:
    def __init__(self):
        self.versions: dict[str, int] = {}
        self.groups: dict[str, set] = {}

    def members(self, key: str) -> set:
        return self.groups.setdefault(key, set())

    def subscribe(self, message: dict) -> tuple[str, str | None]:
        """The object key a subscription names, and the SUBSCRIBED reply if one is asked for."""
        key = f"{message['model']}|{message['id']}"
        if "request_id" not in message:
            return key, None
        snapshot = {
            "model": message["model"],
            "id": message["id"],
            "version": self.versions.setdefault(key, 1),
            "data": {},
        }
        reply = {
            "type": "SUBSCRIBED",
            "payload": snapshot,
            "meta": {"request_id": message["request_id"]},
        }
        return key, encode(reply)

    def update_for(self, method: str, path: str, body: bytes) -> tuple[str, str, dict] | None:
        """For a PATCH of an object: its key, the event's text and the HTTP response body."""
        match = UPDATE_PATH.match(path)
        if method != "PATCH" or match is None:
            return None
        model, public_id = MODELS[match["collection"]], match["id"]
        key = f"{model}|{public_id}"
        version = self.versions[key] = self.versions.get(key, 1) + 1
        payload = {"id": public_id, **json.loads(body or b"{}"), **FILLER, "version": version}
        event = {
            "type": f"UPDATE_{model.split('.')[1].upper()}",
            "payload": payload,
            "meta": {"model": model, "id": public_id, "version": version},
        }
        return key, encode(event), payload


def stub(method: str, path: str) -> tuple[int, list[tuple[str, str]], dict | None]:
    """Status, headers and body of the requests that are not updates."""
    path = path.rstrip("/")
    if path == "/api/health":
        return 200, [], {"status": "ok"}
    if path == "/api/auth/csrf":
        return 204, [("Set-Cookie", "csrftoken=floor; Path=/")], None
    if path == "/api/auth/login" and method == "POST":
        return 200, [("Set-Cookie", "sessionid=floor; Path=/")], {"id": "floor"}
    return 404, [], {"detail": "Not found."}


def http_response(status: int, body: dict | None, headers=()) -> bytes:
    content = b"" if body is None else encode(body).encode()
    lines = [f"HTTP/1.1 {status} {'OK' if status < 400 else 'Error'}"]
    if body is not None:
        lines.append("Content-Type: application/json")
    lines += [f"{name}: {value}" for name, value in headers]
    lines.append(f"Content-Length: {len(content)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + content


def stub_response(method: str, path: str) -> bytes:
    status, headers, body = stub(method, path)
    return http_response(status, body, headers)


async def read_request(reader: asyncio.StreamReader) -> tuple[str, str, bytes] | None:
    """One HTTP/1.1 request (Content-Length bodies only), or None at end of stream."""
    head = await reader.readuntil(b"\r\n\r\n") if not reader.at_eof() else b""
    if not head:
        return None
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    method, target, _ = request_line.split(" ", 2)
    length = 0
    for line in header_lines:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    body = await reader.readexactly(length) if length else b""
    return method, target.split("?", 1)[0], body


async def read_body(receive) -> bytes:
    """An ASGI request's whole body."""
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    return body


async def respond(send, status: int, headers: list[tuple[str, str]], body: dict | None) -> None:
    """An ASGI response, as `http_response` writes it."""
    content = b"" if body is None else encode(body).encode()
    raw_headers = [(name.lower().encode(), value.encode()) for name, value in headers]
    if body is not None:
        raw_headers.append((b"content-type", b"application/json"))
    raw_headers.append((b"content-length", str(len(content)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": content})


def http_app(objects: Objects, deliver):
    """The HTTP side of a floor that Daphne serves: a PATCH of an object awaits
    `deliver(key, text)` (the floor's own fan-out of the event) and answers; any other request
    gets its stub answer."""

    async def app(scope, receive, send):
        body = await read_body(receive)
        update = objects.update_for(scope["method"], scope["path"], body)
        if update is None:
            await respond(send, *stub(scope["method"], scope["path"]))
            return
        key, text, response = update
        await deliver(key, text)
        await respond(send, 200, [], response)

    return app
