"""A TCP proxy in front of PostgreSQL that a test can stop and start again.

Stopping it closes the listening socket and every connection through it, which is what the
store sees when its database restarts or the network drops -- without touching the shared
server that other tests use. Restarting listens on the same port again.

It can also lose the answer to one COMMIT: the server has committed, but the connection is
cut before its "COMMIT" reaches the client, which cannot tell that from a transaction that
never happened. That is the case a write retried after a lost connection must survive
without duplicates, made to happen on purpose instead of by luck.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit

# The server's CommandComplete message for a COMMIT: type 'C', length 11, "COMMIT\0".
_COMMIT_COMPLETE = b"C\x00\x00\x00\x0bCOMMIT\x00"


class TcpProxy:
    """Forwards 127.0.0.1:<port> to ``target``; `stop` cuts every connection at once."""

    def __init__(self, *, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._lose_commit = False
        self.commits_lost = 0
        self.requests = 0  # reads from clients passed on: a sign of life that tests can wait for
        self.port = 0

    def __repr__(self) -> str:
        state = "listening" if self._server else "stopped"
        return f"<TcpProxy 127.0.0.1:{self.port} -> {self._target[0]}:{self._target[1]} {state}>"

    @classmethod
    async def to(cls, url: str) -> TcpProxy:
        """A started proxy to the server of a PostgreSQL URL."""
        target = urlsplit(url)
        proxy = cls(target_host=target.hostname or "127.0.0.1", target_port=target.port or 5432)
        await proxy.start()
        return proxy

    def url(self, url: str) -> str:
        """``url`` with this proxy as its host and port, user and database kept."""
        parts = urlsplit(url)
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@127.0.0.1:{self.port}" if userinfo else f"127.0.0.1:{self.port}"
        return parts._replace(netloc=netloc).geturl()

    def lose_next_commit_answer(self) -> None:
        """Cut the connection that carries the next confirmed COMMIT, instead of passing it on."""
        self._lose_commit = True

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for task in self._connections:
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            async with asyncio.timeout(5):
                upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
            try:
                async with asyncio.TaskGroup() as group:
                    group.create_task(self._requests(reader, upstream_writer))
                    group.create_task(self._answers(upstream_reader, writer))
            finally:
                upstream_writer.close()
        finally:
            writer.close()
            self._connections.discard(task)

    async def _requests(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """The client's side of a connection, counted."""
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                self.requests += 1
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _answers(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """The server's side of a connection, watched for the COMMIT answer to lose."""
        tail = b""  # a message may straddle two reads
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                if self._lose_commit and _COMMIT_COMPLETE in tail + data:
                    self._lose_commit = False
                    self.commits_lost += 1
                    writer.transport.abort()  # the client never hears of it
                    return
                tail = data[-len(_COMMIT_COMPLETE) :]
                writer.write(data)
                await writer.drain()
        writer.close()
