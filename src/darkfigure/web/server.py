"""Running the web application with uvicorn: one process, or several workers built from the environment."""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path

from fastapi import FastAPI

from darkfigure.errors import InputError
from darkfigure.web.app import create_app, loggable
from darkfigure.web.config import SESSION_SECRET_ENV, WebConfig, session_secret

RESULTS_ENV = "DARKFIGURE_WEB_RESULTS"


def build_app(database: str | None, key_file: Path | None, results: Path | None = None, **store_options) -> FastAPI:
    """Open the case store (migrating it to the newest schema) and build the application over it.

    The key is checked against the database first (another store's key file is refused);
    ``create=False`` (as ``darkfigure serve`` passes) refuses a database that does not exist.

    >>> import tempfile, pathlib
    >>> from darkfigure.casestore import KeyRing
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> KeyRing.generate().write(folder / "case.key")
    >>> build_app(str(folder / "cases.db"), folder / "case.key").state.store.has_users()
    False
    """
    from darkfigure.casestore import open_store

    store = open_store(database, key_file, **store_options)
    secret = session_secret(key_file)
    return create_app(store, WebConfig(session_secret=secret), results=results)


def app_from_environment() -> FastAPI:
    """The application for one uvicorn worker, from the variables :func:`serve` sets."""
    key_file = os.environ.get("DARKFIGURE_CASE_KEY_FILE")
    results = os.environ.get(RESULTS_ENV)
    return build_app(
        os.environ.get("DARKFIGURE_CASE_DB"), Path(key_file) if key_file else None, Path(results) if results else None,
        create=False,
    )


def serve(
    database: str | None, key_file: Path | None, host: str, port: int, results: Path | None = None, workers: int = 1
) -> None:
    """Serve until stopped; with ``workers`` > 1 each worker opens the store itself."""
    import uvicorn

    from darkfigure.casestore.cli import default_key

    _log_to_stderr()
    key_file = default_key(key_file)
    logging_ = {"log_config": log_config(), "log_level": "info", "proxy_headers": True, "server_header": False}
    if workers <= 1:
        app = build_app(database, key_file, results, create=False)
        uvicorn.run(app, host=host, port=port, **logging_)
        return
    build_app(database, key_file, results, create=False).state.store.close()  # migrate once, refuse bad settings early
    os.environ[SESSION_SECRET_ENV] = session_secret(key_file)
    for name, value in (("DARKFIGURE_CASE_DB", database), ("DARKFIGURE_CASE_KEY_FILE", key_file),
                        (RESULTS_ENV, results)):
        if value is not None:
            os.environ[name] = str(value)
    # a worker imports darkfigure (scipy, numba) before it answers: give it longer than uvicorn's 5 s
    config = uvicorn.Config("darkfigure.web.server:app_from_environment", factory=True, host=host, port=port,
                            workers=workers, timeout_worker_healthcheck=120, **logging_)
    try:
        _worker_supervisor(config).run()
    except KeyboardInterrupt:
        pass


def _worker_supervisor(config):
    """uvicorn's supervisor of worker processes, but each worker on a listening socket of its own
    (``SO_REUSEPORT``, so the kernel spreads new connections evenly over them) instead of one socket
    shared by all. On a shared socket Linux hands a burst of new connections to the worker that
    waited last, and kept-alive connections stay where they landed: in the benchmark one worker
    served three quarters of the clients (or all of them) while the other core idled. Where the
    platform has no ``SO_REUSEPORT`` (or for a Unix socket) the workers share one socket, as uvicorn's."""
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess
    from uvicorn.supervisors.multiprocess import Process

    if not hasattr(socket, "SO_REUSEPORT") or config.uds or config.fd is not None:
        return Multiprocess(config, sockets=[tcp_socket(config.bind_socket())])
    own = [_reuse_port_socket(config.host, config.port) for _ in range(config.workers)]
    logging.getLogger("uvicorn.error").info(
        "Uvicorn running on http://%s:%d with %d workers, one socket each (Press CTRL+C to quit)",
        *own[0].getsockname()[:2], config.workers,
    )

    class OneSocketEach(Multiprocess):
        def init_processes(self) -> None:
            for sock in own:
                process = Process(self.config, [sock])
                process.start()
                self.processes.append(process)

        def keep_subprocess_alive(self) -> None:  # as uvicorn's, the replacement on its predecessor's socket
            for idx, process in enumerate(self.processes):
                if self.should_exit.is_set() or process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                    continue
                process.kill()
                process.join()
                if process.exitcode == STARTUP_FAILURE:
                    logging.getLogger("uvicorn.error").error("Child process [%s] failed to start", process.pid)
                    self.should_exit.set()
                    return
                replacement = Process(self.config, [own[idx % len(own)]])
                replacement.start()
                self.processes[idx] = replacement

    return OneSocketEach(config, sockets=own)


def _reuse_port_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` that other sockets with ``SO_REUSEPORT`` may share.

    >>> first = _reuse_port_socket("127.0.0.1", 0)
    >>> second = _reuse_port_socket("127.0.0.1", first.getsockname()[1])
    >>> first.getsockname() == second.getsockname()
    True
    >>> first.close(); second.close()
    """
    family = socket.AF_INET6 if host and ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # TCP named: see tcp_socket
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise InputError(f"cannot listen on {host}:{port}: {err.strerror}; choose another --port") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def tcp_socket(sock: socket.socket) -> socket.socket:
    """The listening socket with its protocol named (TCP), so that asyncio sets TCP_NODELAY on every
    connection a worker accepts. uvicorn binds a socket for its workers without naming the protocol
    (0); asyncio then leaves Nagle's algorithm on, and every response written in two parts (headers,
    body) waited for the client's delayed ACK: 40 ms more on each page.

    >>> listening = tcp_socket(socket.socket(socket.AF_INET))
    >>> listening.proto == socket.IPPROTO_TCP
    True
    >>> listening.close()
    """
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.proto == socket.IPPROTO_TCP:
        return sock
    named = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
    named.set_inheritable(True)
    return named


class NoQueryFilter(logging.Filter):
    """Drops the query string from uvicorn's access lines: a searched name must never reach a log (and
    escapes what is not printable in the path, though uvicorn quotes it already).

    >>> record = logging.LogRecord("uvicorn.access", 20, "", 0, '%s - "%s %s HTTP/%s" %d',
    ...                            ("1.2.3.4:5", "GET", "/cases?q=mina", "1.1", 200), None)
    >>> NoQueryFilter().filter(record), record.getMessage()
    (True, '1.2.3.4:5 - "GET /cases HTTP/1.1" 200')
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], loggable(args[2].split("?", 1)[0]), *args[3:])
        return True


def log_config() -> dict:
    """uvicorn's logging setup with :class:`NoQueryFilter` on the access log (each worker applies it too)."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["no_query"] = {"()": "darkfigure.web.server.NoQueryFilter"}
    config["handlers"]["access"]["filters"] = ["no_query"]
    return config


def _log_to_stderr() -> None:
    logger = logging.getLogger("darkfigure")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
