"""A stand-in for Prometheus' blackbox exporter, for the bench's plumbing tests only.

It takes the real exporter's flags (``--config.file``, ``--web.listen-address``, ``--version``)
and answers ``/metrics`` and ``/probe?module=...&target=...`` with a ``probe_success`` line,
probing the target with urllib (2 s timeout). The tests point ``BENCH_EXPORTER_BINARY`` at a
script that runs it, so the bench's exporter path runs without the Debian package.
"""

import argparse
import sys
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

TIMEOUT_SECONDS = 2


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        parts = urlsplit(self.path)
        if parts.path == "/metrics":
            return self._send("# fake exporter\n")
        if parts.path != "/probe":
            return self._send("not found\n", status=404)
        target = (parse_qs(parts.query).get("target") or [""])[0]
        try:
            with urllib.request.urlopen(target, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
                success = 200 <= response.status < 300
        except OSError:
            success = False
        return self._send(f"probe_success {1 if success else 0}\n")

    def _send(self, text: str, status: int = 200) -> None:
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config.file", dest="config")
    parser.add_argument("--web.listen-address", dest="listen", default="127.0.0.1:9115")
    parser.add_argument("--log.level", dest="level")
    parser.add_argument("--version", action="store_true")
    args = parser.parse_args()
    if args.version:
        print("fake_blackbox_exporter, version 0 (tests/bench/fake_exporter.py)")
        return 0
    host, port = args.listen.rsplit(":", 1)
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer((host, int(port)), Handler).serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
