"""A real ``redis-server`` on 127.0.0.1 for the shared-quota tests: started, stopped and restarted by the test.

No mock: the Lua scripts, ``TIME``, pub/sub and the connection errors the store must survive are Redis' own.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

__all__ = ["RedisServer", "free_port", "redis_available"]


def redis_available() -> bool:
    return shutil.which("redis-server") is not None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """One ``redis-server`` process with no persistence, on a port that survives :meth:`stop`/:meth:`start`."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self._port_chosen = port is None  # free to move while it has never started: another worker took it
        self.dir = Path(tempfile.mkdtemp(prefix="adops-redis-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        for _ in range(3 if self._port_chosen else 1):
            try:
                return self._start()
            except RuntimeError:
                self.stop()
                if not self._port_chosen:
                    raise
                self.port = free_port()
        raise RuntimeError("redis-server did not start on three free ports")

    def _start(self) -> RedisServer:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while True:
            # Ours, not another test worker's server that took the same port between free_port() and this start:
            # asked for its process id, the server must give ours.
            if self._answering_pid() == self.process.pid:
                self._port_chosen = False  # restarts keep this port: clients know it
                return self
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)

    def _answering_pid(self) -> int | None:
        """The process id of the redis-server answering on our port, if one does."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"INFO server\r\n")
                reply = b""
                while b"process_id:" not in reply or not reply.endswith(b"\r\n\r\n"):
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    reply += chunk
        except OSError:
            return None
        for line in reply.decode(errors="replace").splitlines():
            if line.startswith("process_id:"):
                return int(line.partition(":")[2])
        return None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
