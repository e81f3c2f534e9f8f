"""Local HTTP servers for the tests that download (tests/unit/test_download.py, tests/integration/test_faults.py):
ThreadingHTTPServers on 127.0.0.1, never the internet."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Servers:
    """Starts ThreadingHTTPServers on 127.0.0.1, port 0; each answers GETs with a behaviour function."""

    def __init__(self) -> None:
        self.stop = threading.Event()  # releases stalling handlers at teardown
        self.hits: list[tuple[str, str]] = []  # (server label, path) in request order
        self._running: list[tuple[ThreadingHTTPServer, threading.Thread]] = []

    def start(self, label: str, behaviour) -> str:
        servers = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                servers.hits.append((label, self.path))
                try:
                    behaviour(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        self._running.append((server, thread))
        return f"http://127.0.0.1:{server.server_address[1]}/{label}/"

    def close(self) -> None:
        self.stop.set()
        for server, thread in self._running:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)


def serving(files: dict[str, bytes]):
    """Serves ``files`` by base name; 404 for anything else."""

    def behaviour(handler: BaseHTTPRequestHandler) -> None:
        body = files.get(handler.path.rsplit("/", 1)[-1])
        if body is None:
            handler.send_error(404, "Not Found")
            return
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return behaviour
