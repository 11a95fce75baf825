"""Floor 1: the benchmark's protocol on a bare `websockets` server.

No Django, no channel layer, no access checks: a PATCH encodes one frame and `broadcast()` writes
it to the object's sockets. What it costs is what any Python WebSocket server pays to fan out, so
ours divided by it is the price of everything else.

WebSockets on --port; the HTTP side (the PATCH trigger, the login and CSRF stubs that let the
same client drive it) on --http-port, since websockets' handshake parser takes GET only.
"""

import argparse
import asyncio
import contextlib
import json

from websockets.asyncio.server import broadcast, serve

from bench.floors import protocol


class Floor:
    def __init__(self):
        self.objects = protocol.Objects()

    async def socket(self, connection) -> None:
        keys = set()
        try:
            async for text in connection:
                key, reply = self.objects.subscribe(json.loads(text))
                keys.add(key)
                self.objects.members(key).add(connection)
                if reply is not None:
                    await connection.send(reply)
        finally:
            for key in keys:
                self.objects.members(key).discard(connection)

    async def http(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await protocol.read_request(reader)
                if request is None:
                    break
                method, path, body = request
                update = self.objects.update_for(method, path, body)
                if update is not None:
                    key, text, response = update
                    broadcast(self.objects.members(key), text)
                    writer.write(protocol.http_response(200, response))
                else:
                    writer.write(protocol.stub_response(method, path))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


async def main(port: int, http_port: int) -> None:
    floor = Floor()
    http = await asyncio.start_server(floor.http, "127.0.0.1", http_port, backlog=1024)
    async with (
        serve(floor.socket, "127.0.0.1", port, compression=None, max_queue=None, backlog=4096),
        http,
    ):
        await asyncio.Future()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--http-port", type=int, required=True)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(args.port, args.http_port))
