"""An LMS that learns from the market's webhooks when a tenant becomes active.

pip install standardwebhooks
WEBHOOK_SECRET=whsec_... python lms_receiver.py  # then register http(s)://<this host>:8080/hooks
"""

import os
from http.server import BaseHTTPRequestHandler, HTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

seen_ids: set[str] = set()  # keep these in your database: retries reuse the same webhook-id


def handle(body: bytes, headers: dict[str, str], secret: str) -> int:
    """Verify one delivery and act on it; returns the HTTP status to answer."""
    try:
        event = Webhook(secret).verify(body, {k.lower(): v for k, v in headers.items()})
    except WebhookVerificationError:
        return 400  # not from the market, altered, or older than 5 minutes
    message_id = headers.get("webhook-id") or headers.get("Webhook-Id")
    if message_id in seen_ids:
        return 204  # a retry of something already handled
    seen_ids.add(message_id)
    if event["type"] == "tenant.activated":
        tenant = event["data"]["tenant"]
        print(f"{tenant['tenant_id']} is active: students can use {tenant['access_url']}")
    return 204  # answer 2xx within 10 s; do slow work afterwards


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(handle(body, dict(self.headers), os.environ["WEBHOOK_SECRET"]))
        self.end_headers()


if __name__ == "__main__":
    HTTPServer(("", 8080), Receiver).serve_forever()
