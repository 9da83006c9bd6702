"""A fault-injecting TCP proxy for tests (toxiproxy and ``tc netem`` are not available).

It sits between a client and a loopback server and misbehaves on command while a test runs:

    with FaultProxy(upstream=("127.0.0.1", server_port)) as proxy:
        requests.get(proxy.url("http"))   # clean pass-through
        proxy.set(latency=0.2)            # slow every chunk, both directions
        proxy.reset()                     # clean pass-through again

It is protocol-agnostic (plain bytes), so HTTP and printer tests can both use it. asyncio runs on a
daemon thread so that synchronous test code can drive it and a forgotten proxy never blocks exit.
"""
from __future__ import annotations

import asyncio
import ipaddress
import socket
import struct
import threading
from typing import Any

CHUNK = 65536
STOP_TIMEOUT = 2.0
DEFAULTS: dict[str, Any] = {
    "latency": 0.0,  # seconds slept before each chunk is forwarded, both directions
    "drop": False,  # accept new connections and close them at once (an empty reply)
    "reset_after_bytes": None,  # RST a connection once this many client->server bytes went through
    "close_after_bytes_down": None,  # close a connection (FIN) once this many server->client bytes went through
    "half_open": False,  # accept and swallow, never answer, never close
    "bandwidth": None,  # bytes per second, both directions
    "refuse": False,  # not listening at all: connection refused
}


class FaultProxy:
    def __init__(self, upstream: tuple[str, int]) -> None:
        host, port = upstream
        # Resolve "localhost" here so asyncio never needs its resolver thread pool (one less thread to leak).
        host = "127.0.0.1" if host == "localhost" else host
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ValueError(f"upstream must be a loopback address, not {host!r}: tests stay on loopback")
        self.upstream = (host, int(port))
        self.port = 0
        # Replaced as a whole, never mutated, so the loop thread always sees a consistent dict.
        self._settings = dict(DEFAULTS)
        self._stats = {"connections": 0, "bytes_up": 0, "bytes_down": 0}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()  # both ends of every open connection
        self._tasks: set[asyncio.Task[Any]] = set()  # one per accepted connection

    # ---- public API, called from the test's thread ----

    def start(self) -> FaultProxy:
        if self._thread is not None:
            return self
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, name="faultproxy", daemon=True)
        self._thread.start()
        self._call(self._set_listening(True))  # always bind once, so that .port is known
        if self._settings["refuse"]:
            self._call(self._set_listening(False))
        self._thread.name = f"faultproxy-{self.port}"
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or not thread.is_alive():
            return
        try:
            self._call(self._shutdown(), timeout=STOP_TIMEOUT * 0.75)
        except Exception:  # a stuck shutdown must not hang the test: stopping the loop below is enough
            pass
        loop.call_soon_threadsafe(loop.stop)
        thread.join(STOP_TIMEOUT * 0.25)
        self._thread = self._loop = None  # start() may be called again, on the same port

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def url(self, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}"

    @property
    def stats(self) -> dict[str, int]:
        return dict(self._stats)

    def set(self, **changes: Any) -> None:
        unknown = set(changes) - set(DEFAULTS)
        if unknown:
            raise TypeError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
        if changes.get("bandwidth") is not None and changes["bandwidth"] <= 0:
            raise ValueError("bandwidth must be a positive number of bytes per second, or None")
        if min(changes.get("latency", 0), changes.get("reset_after_bytes") or 0,
               changes.get("close_after_bytes_down") or 0) < 0:
            raise ValueError("latency, reset_after_bytes and close_after_bytes_down cannot be negative")
        self._settings = {**self._settings, **changes}
        if "refuse" in changes and self._thread is not None:
            self._call(self._set_listening(not changes["refuse"]))

    def reset(self) -> None:
        self.set(**DEFAULTS)

    def cut_all(self) -> None:
        if self._thread is None:
            return  # not running: nothing is open

        async def cut() -> None:
            for writer in list(self._writers):
                self._rst(writer)

        self._call(cut())

    # ---- event-loop side ----

    def _run_loop(self) -> None:
        assert self._loop is not None
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
        finally:
            self._loop.close()

    def _call(self, coro: Any, timeout: float = STOP_TIMEOUT) -> Any:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _set_listening(self, on: bool) -> None:
        if on and self._server is None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            # Refuse/unrefuse re-binds the same port; SO_REUSEADDR lets that work despite old connections.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", self.port))
            except OSError:
                sock.close()
                raise
            self.port = sock.getsockname()[1]
            self._server = await asyncio.start_server(self._handle, sock=sock)
        elif not on and self._server is not None:
            self._server.close()  # closes only the listening socket; open connections live on
            self._server = None

    async def _shutdown(self) -> None:
        await self._set_listening(False)
        for writer in list(self._writers):
            writer.transport.abort()  # readers see EOF, so connection tasks end by themselves
        tasks = list(self._tasks)
        if tasks:
            _, stragglers = await asyncio.wait(tasks, timeout=STOP_TIMEOUT / 4)
            for task in stragglers:  # e.g. still connecting upstream
                task.cancel()
            if stragglers:
                await asyncio.wait(stragglers, timeout=STOP_TIMEOUT / 4)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        settings = self._settings  # one snapshot: faults chosen at accept time apply to this connection
        self._stats["connections"] += 1
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        upstream: asyncio.StreamWriter | None = None
        try:
            if settings["drop"]:
                # FIN at once, then discard the request: closing with it unread would send an RST
                # instead, and the client would see a reset rather than an empty reply.
                writer.write_eof()
                await self._discard(reader)
                return
            if settings["half_open"]:
                await self._discard(reader)
                # The client may only have half-closed and still wait for an answer: keep our side
                # open until cut_all() or stop() aborts the transport.
                await writer.wait_closed()
                return
            up_reader, upstream = await asyncio.open_connection(*self.upstream)
            self._writers.add(upstream)
            ends = (writer, upstream)
            await asyncio.gather(
                self._pipe(reader, upstream, ends, up=True, limit=settings["reset_after_bytes"]),
                self._pipe(up_reader, writer, ends, up=False, limit=settings["close_after_bytes_down"]),
            )
        except OSError:  # upstream down or client gone: a reset is what a real dead server gives
            self._rst(writer)
        except asyncio.CancelledError:
            pass  # only stop() cancels; re-raising makes Python 3.11's streams log a bogus error
        finally:
            self._tasks.discard(task)
            for end in (writer, upstream):
                if end is not None:
                    self._writers.discard(end)
                    end.close()

    @staticmethod
    async def _discard(reader: asyncio.StreamReader) -> None:
        while await reader.read(CHUNK):
            pass

    async def _pipe(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter,
                    ends: tuple[asyncio.StreamWriter, ...], up: bool, limit: int | None) -> None:
        sent = 0
        try:
            while chunk := await src.read(self._chunk_size()):
                if limit is not None:
                    chunk = chunk[: limit - sent]
                await self._throttle(len(chunk))
                # Count before writing: once the peer has the bytes, stats already show them.
                self._stats["bytes_up" if up else "bytes_down"] += len(chunk)
                dst.write(chunk)
                await dst.drain()
                sent += len(chunk)
                if limit is not None and sent >= limit:
                    if not up:  # mid-reply: the client gets every byte sent so far, then the end of the stream
                        dst.close()
                        await dst.wait_closed()
                    for end in ends:  # reset mid-request, towards both the client and the server
                        self._rst(end)
                    return
            if dst.can_write_eof():
                dst.write_eof()  # pass a half-close on, so request/response protocols finish normally
        except OSError:  # one side vanished: make the other side see it too
            for end in ends:
                self._rst(end)

    def _chunk_size(self) -> int:
        # Under a bandwidth limit, small chunks (~50 ms worth) make the throttling smooth.
        bandwidth = self._settings["bandwidth"]
        return CHUNK if bandwidth is None else max(1, min(CHUNK, int(bandwidth // 20)))

    async def _throttle(self, size: int) -> None:
        settings = self._settings  # read per chunk, so changes reach connections already open
        delay = settings["latency"] + (size / settings["bandwidth"] if settings["bandwidth"] else 0.0)
        if delay > 0:
            await asyncio.sleep(delay)

    @staticmethod
    def _rst(writer: asyncio.StreamWriter) -> None:
        # SO_LINGER with a zero timeout turns close() into a TCP RST instead of a polite FIN.
        sock = writer.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass  # already closed
        writer.transport.abort()
