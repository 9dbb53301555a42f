"""A stand-in for the agency's WhatsApp HTTP gateway: a real HTTP server on 127.0.0.1 that records
every request (path, headers, JSON body) and answers with a status the test chooses.

`gateway = WhatsAppGateway().start()`; point settings.whatsapp_url at `gateway.url`; read
`gateway.requests`. Also runs as a process: `python -m tests.wagateway --port 8099 --out log`.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.ports import free_port


class WhatsAppGateway:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        self._lock = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self.log: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/send"

    def start(self) -> WhatsAppGateway:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body: Any = json.loads(raw)
                except ValueError:
                    body = raw.decode(errors="replace")
                record = {"path": self.path, "headers": dict(self.headers), "json": body}
                status = gateway.status
                if status < 300:
                    with gateway._lock:
                        gateway.requests.append(record)
                        gateway._lock.notify_all()
                    if gateway.log is not None:
                        with gateway.log.open("a") as out:
                            out.write(json.dumps(record) + "\n")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"status": "queued"}' if status < 300 else b'{"error": "x"}')

            def log_message(self, *_args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"expected {count} WhatsApp request(s), got {len(self.requests)}"
                    )
                self._lock.wait(left)
            return list(self.requests)


def main() -> None:
    parser = argparse.ArgumentParser(description="Fake WhatsApp gateway that logs requests")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    gateway = WhatsAppGateway(args.port)
    gateway.log = args.out
    gateway.start()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        gateway.stop()


if __name__ == "__main__":
    main()
