"""A fast local HTTP server standing in for an email-marketing provider or a webhook
receiver: answers every request at once with 200 and a small JSON body, and records
(arrival time, method, path, body) of each.

`python -m bench.fakeserver --port N --record FILE`; `GET /__bench/count` answers how many
requests arrived, `POST /__bench/dump` writes the records to FILE as JSON lines.
asyncio with keep-alive, so one process keeps up with several Celery workers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

RECORDS: list[tuple[float, str, str, str]] = []
OK = b'{"id": "ok", "status": "subscribed"}'


def _response(body: bytes, status: str = "200 OK") -> bytes:
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    ).encode() + body


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            arrived = time.time()
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            length = 0
            for line in lines[1:]:
                if line[:15].lower() == "content-length:":
                    length = int(line[15:].strip())
            body = await reader.readexactly(length) if length else b""
            if target == "/__bench/count":
                writer.write(_response(json.dumps({"count": len(RECORDS)}).encode()))
            elif target == "/__bench/dump":
                with open(path, "w") as out:
                    for record in RECORDS:
                        out.write(json.dumps(record) + "\n")
                writer.write(_response(b"{}"))
            else:
                RECORDS.append((arrived, method, target, body.decode("utf-8", "replace")))
                writer.write(_response(OK))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


async def _serve(port: int, path: str) -> None:
    server = await asyncio.start_server(
        lambda r, w: _handle(r, w, path), "127.0.0.1", port, backlog=1024
    )
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--record", required=True)
    args = parser.parse_args()
    asyncio.run(_serve(args.port, args.record))


if __name__ == "__main__":
    main()
