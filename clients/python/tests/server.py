"""A real AUREN server for the tests: a fresh PostgreSQL database on the machine's server
(TEST_DATABASE_URL's, postgres://postgres@127.0.0.1:5432/test by default) and
`node --import tsx src/cli.ts serve` from the repository, on ports it picks (PORT=0,
GRPC_PORT=0), read from its JSON log lines."""

from __future__ import annotations

import atexit
import json
import re
import os
import signal
import subprocess
import threading
import uuid
from pathlib import Path
from typing import Dict, List, Optional
from urllib.parse import urlsplit, urlunsplit

REPOSITORY = Path(__file__).resolve().parents[3]
START_TIMEOUT_S = 60.0


def _url_with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


class Database:
    """A database of its own on the test PostgreSQL, dropped by drop()."""

    def __init__(self) -> None:
        base = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
        self.name = f"auren_python_{uuid.uuid4().hex[:12]}"
        self.admin_url = _url_with_database(base, "postgres")
        self.url = _url_with_database(base, self.name)
        self._psql(f'create database "{self.name}"')

    def drop(self) -> None:
        self._psql(f'drop database if exists "{self.name}" with (force)')

    def _psql(self, statement: str) -> None:
        subprocess.run(
            ["psql", self.admin_url, "-v", "ON_ERROR_STOP=1", "-q", "-c", statement],
            check=True,
            capture_output=True,
            timeout=60,
        )


class Server:
    """One `auren serve` process on a database; start() waits until both listeners serve."""

    def __init__(self, database_url: str, grpc_port: int = 0) -> None:
        self.database_url = database_url
        self.requested_grpc_port = grpc_port
        self.grpc_port = 0
        self.port = 0
        self.log: List[str] = []
        # The admin key a first start on a database shows once (stderr, read with the log).
        self.first_admin_key: Optional[str] = None
        self._process: Optional[subprocess.Popen[str]] = None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def start(self) -> "Server":
        env: Dict[str, str] = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "HOST": "127.0.0.1",
            "PORT": "0",
            "GRPC_PORT": str(self.requested_grpc_port),
            "SHUTDOWN_TIMEOUT_MS": "2000",
            "LOG_LEVEL": "info",
            # The server's secret: a restart on the same database accepts the same keys.
            "AUREN_SECRET": SECRET,
        }
        self._process = subprocess.Popen(
            ["node", "--import", "tsx", "src/cli.ts", "serve"],
            cwd=REPOSITORY,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        ready = threading.Event()
        threading.Thread(target=self._read_log, args=(ready,), daemon=True).start()
        if not ready.wait(START_TIMEOUT_S) or not (self.port and self.grpc_port):
            self.kill()
            raise RuntimeError("auren serve did not start:\n" + "\n".join(self.log[-30:]))
        return self

    def _read_log(self, ready: threading.Event) -> None:
        assert self._process is not None and self._process.stdout is not None
        for line in self._process.stdout:
            self.log.append(line.rstrip())
            key = re.search(r"auren_[0-9a-f]{32}_[A-Za-z0-9_-]{43}", line)
            if key:
                self.first_admin_key = key.group(0)
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            message = str(entry.get("msg", ""))
            if message.startswith("PORT: serving"):
                self.port = int(entry["port"])
            elif message.startswith("GRPC_PORT: serving"):
                self.grpc_port = int(entry["port"])
            if self.port and self.grpc_port:
                ready.set()
        self._process.stdout.close()
        ready.set()  # the process ended

    def stop(self) -> int:
        """SIGTERM, as a container runtime stops it; its exit code."""
        assert self._process is not None
        self._process.send_signal(signal.SIGTERM)
        return self._process.wait(timeout=30)

    def kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=10)


# The server's secret: a restart on the same database, and `auren keys`, see the same keys.
SECRET = "python-client-tests-secret-0123456789abcdef"


class ServerOnItsOwnDatabase:
    """A test module's server: a fresh database and a server on it, both gone at close()."""

    def __init__(self) -> None:
        self.database = Database()
        try:
            self.server = Server(self.database.url).start()
            if self.server.first_admin_key is None:
                raise RuntimeError("the first start showed no admin key:\n" + "\n".join(self.server.log[-30:]))
            self.api_key: str = self.server.first_admin_key
        except BaseException:
            self.database.drop()
            raise

    @property
    def target(self) -> str:
        return self.server.target

    def agent_key(self, agent: str, scopes: str = "memory:read,memory:write,memory:shared") -> str:
        """A new API key that acts as `agent` (`auren keys create`, as an operator makes one)."""
        made = subprocess.run(
            ["node", "--import", "tsx", "src/cli.ts", "keys", "create", "--kind", "agent", "--agent", agent, "--scopes", scopes],
            cwd=REPOSITORY,
            env={**os.environ, "DATABASE_URL": self.database.url, "AUREN_SECRET": SECRET},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return made.stdout.strip()

    def restart(self) -> None:
        """Stops the server with SIGTERM and starts a new one on the same database and GRPC_PORT."""
        port = self.server.grpc_port
        self.server.stop()
        self.server = Server(self.database.url, grpc_port=port).start()

    def close(self) -> None:
        try:
            self.server.kill()
        finally:
            self.database.drop()


_shared: Optional[ServerOnItsOwnDatabase] = None


def shared_server() -> ServerOnItsOwnDatabase:
    """The one server of this test run (each start costs seconds), closed when the run ends.
    Tests keep apart by people and stream prefixes of their own."""
    global _shared
    if _shared is None:
        _shared = ServerOnItsOwnDatabase()
        atexit.register(_shared.close)
    return _shared
