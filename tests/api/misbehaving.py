"""A tiny HTTP/1.1 server on loopback that misbehaves on purpose (issue 16).

Each route answers in one `Reply`: normally (JSON, any status, any headers), or by dripping its
body or its headers a byte at a time, or by flooding a body that is huge or has no end. Every route
not given answers as the session endpoints and a cheap domain call would, so a client can get a
session first and meet the misbehaviour where the test wants it. It counts what each path was sent
(`hits`) and how many body bytes it managed to write there (`written`): the kernel's socket
buffers aside, what the client read.

Its waits are real loopback I/O, short and bounded: the tests pair it with a deadline under a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

Behaviour = Literal["answer", "drip_body", "drip_headers", "flood_length", "flood_chunked"]

DRIP_EVERY_S = 0.1  # well inside httpx's 10 s between bytes: only an overall deadline stops it
FLOOD_CHUNK = 64 * 1024
HUGE = 200_000_000  # the tester's 200 MB answer
DRIPPED_LENGTH = 1000  # what a dripping answer says it will send: small, and never all sent


@dataclass(frozen=True)
class Reply:
    behaviour: Behaviour = "answer"
    status: int = 200
    body: bytes = b"{}"
    headers: tuple[tuple[str, str], ...] = ()


def answer(status: int = 200, payload: Any = None, **headers: str) -> Reply:
    """A plain JSON answer."""
    extra = tuple((name.replace("_", "-"), value) for name, value in headers.items())
    return Reply("answer", status, json.dumps(payload if payload is not None else {}).encode(), extra)


def drip_body() -> Reply:
    return Reply("drip_body")


def drip_headers() -> Reply:
    return Reply("drip_headers")


def flood(*, chunked: bool = False) -> Reply:
    return Reply("flood_chunked" if chunked else "flood_length")


@dataclass
class Misbehaving:
    routes: dict[str, Reply] = field(default_factory=dict)
    hits: Counter[str] = field(default_factory=Counter)
    written: Counter[str] = field(default_factory=Counter)
    url: str = ""
    _server: asyncio.Server | None = None
    _handlers: set[asyncio.Task[None]] = field(default_factory=set)
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)
    _stopping: bool = False
    _tokens: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def __aenter__(self) -> Misbehaving:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        # Not cancelled (asyncio would log each cancelled handler): their connections are cut,
        # and each handler ends at its next read or write.
        self._stopping = True
        for writer in list(self._writers):
            writer.transport.abort()
        if self._handlers:
            await asyncio.wait(list(self._handlers), timeout=2.0)
        await self._server.wait_closed()

    def _default(self, path: str) -> Reply:
        if path in ("/api/session/guest", "/api/session/refresh"):
            token = f"tok-{next(self._tokens):04d}"
            return answer(201 if path.endswith("guest") else 200, {"token": token, "kind": "guest"})
        if path == "/api/session/login":
            user = {"username": "ada", "name": "Ada Lovelace", "tier": "gold"}
            token, key = f"tok-{next(self._tokens):04d}", f"key-{next(self._tokens):04d}"
            return answer(200, {"token": token, "kind": "user", "reauth_key": key, "user": user})
        if path == "/api/session":
            return Reply("answer", 204, b"")
        if path == "/graphql":
            return answer(200, {"data": {"me": None}})
        return answer(200, {"airports": []})

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self._writers.add(writer)
        # A send buffer of a known size, so `written` is what the client took within it (no more:
        # smaller ones stall loopback TCP on delayed acknowledgements).
        with contextlib.suppress(OSError):
            writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 256 * 1024)
        try:
            while True:
                path = await _read_request(reader)
                if path is None:
                    return
                self.hits[path] += 1
                reply = self.routes.get(path) or self._default(path)
                if not await self._reply(writer, path, reply):
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self._handlers.discard(task)
            self._writers.discard(writer)
            writer.close()

    async def _reply(self, writer: asyncio.StreamWriter, path: str, reply: Reply) -> bool:
        """Answer one request; False when the connection is done with."""
        head = [f"HTTP/1.1 {reply.status} Whatever", *(f"{k}: {v}" for k, v in reply.headers)]
        if reply.behaviour == "answer":
            head.append(f"Content-Length: {len(reply.body)}")
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + reply.body)
            await writer.drain()
            self.written[path] += len(reply.body)
            return True
        if reply.behaviour == "drip_headers":
            writer.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            while not self._stopping:
                await writer.drain()
                await asyncio.sleep(DRIP_EVERY_S)
                writer.write(b"a")
            return False
        if reply.behaviour == "drip_body":
            head += ["Content-Type: application/json", f"Content-Length: {DRIPPED_LENGTH}"]
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
            while not self._stopping:
                await writer.drain()
                await asyncio.sleep(DRIP_EVERY_S)
                writer.write(b" ")
                self.written[path] += 1
            return False
        chunked = reply.behaviour == "flood_chunked"
        head.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {HUGE}")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
        data = b"x" * FLOOD_CHUNK
        frame = f"{len(data):x}\r\n".encode() + data + b"\r\n" if chunked else data
        while not self._stopping and (chunked or self.written[path] < HUGE):
            writer.write(frame)
            self.written[path] += len(data)
            await writer.drain()
            if chunked:
                await asyncio.sleep(0.001)  # endless: paced, so a client that reads it all takes a while
        return False


async def _read_request(reader: asyncio.StreamReader) -> str | None:
    """The path of the next request on this connection (its body read and dropped); None at its end."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    path = lines[0].split(" ")[1].split("?")[0]
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if length:
        await reader.readexactly(length)
    return path
