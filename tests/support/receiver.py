"""A loopback webhook receiver: records every request and answers from a script."""

from __future__ import annotations

import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """`script(status, delay=0)` queues answers; unscripted requests get 204."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self._answers: deque[tuple[int, float]] = deque()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.requests.append({"headers": dict(self.headers), "body": body})
                    status, delay = receiver._answers.popleft() if receiver._answers else (204, 0.0)
                if delay:
                    time.sleep(delay)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def script(self, status: int, *, delay: float = 0.0, times: int = 1) -> None:
        with self._lock:
            self._answers.extend([(status, delay)] * times)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def of_type(self, event_type: str) -> list[dict]:
        import json

        return [r for r in self.requests if json.loads(r["body"])["type"] == event_type]
