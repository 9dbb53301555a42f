"""A real SMTP server for tests and benchmarks (aiosmtpd on 127.0.0.1) that keeps every message it
accepts, so a test can read back what the LMS sent. It can be stopped and started again on the
same port (the mail server "down for an hour").

In a test: `sink = MailSink().start()`; `sink.wait_for(1)`; `sink.messages[0]["Subject"]`.
As a process (benchmarks): `python -m tests.mailsink --port 2525 --out received.log` appends
one line per message: its Message-ID.
"""

from __future__ import annotations

import argparse
import email
import email.parser
import email.policy
import threading
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from tests.ports import free_port


class _Handler:
    def __init__(self, sink: MailSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        if self.sink.headers_only:  # the benchmark's sink: the headers are all it reads
            message = email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(raw)
        else:
            message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.sink._accept(message, list(envelope.rcpt_tos), raw)
        return "250 OK"


class MailSink:
    """aiosmtpd in a thread; `messages` in arrival order, `envelopes` the RCPT TO of each."""

    def __init__(self, port: int | None = None, *, auth: tuple[str, str] | None = None) -> None:
        self.port = port or free_port()
        self.auth = auth
        self.messages: list[EmailMessage] = []
        self.envelopes: list[list[str]] = []
        self.raw: list[bytes] = []
        self._lock = threading.Condition()
        self._controller: Controller | None = None
        self.on_message: Any = None  # optional callback(message) (benchmarks)
        self.headers_only = False  # parse only the headers (benchmarks: ~5 ms less per message)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def _accept(self, message: EmailMessage, rcpt: list[str], raw: bytes) -> None:
        with self._lock:
            self.messages.append(message)
            self.envelopes.append(rcpt)
            self.raw.append(raw)
            self._lock.notify_all()
        if self.on_message is not None:
            self.on_message(message)

    def start(self) -> MailSink:
        kwargs: dict[str, Any] = {}
        if self.auth is not None:
            user, password = self.auth

            def authenticator(_server: Any, _session: Any, _envelope: Any, _mechanism: Any,
                              data: Any) -> Any:  # fmt: skip
                from aiosmtpd.smtp import AuthResult, LoginPassword

                ok = isinstance(data, LoginPassword) and (
                    data.login.decode(), data.password.decode()) == (user, password)  # fmt: skip
                return AuthResult(success=ok)

            kwargs.update(authenticator=authenticator, auth_require_tls=False)
        self._controller = Controller(
            _Handler(self), hostname="127.0.0.1", port=self.port, ready_timeout=10, **kwargs
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()
            self.envelopes.clear()
            self.raw.clear()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        """Block until at least `count` messages arrived; fail loudly after `timeout`."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"expected {count} message(s) at the SMTP sink, got {len(self.messages)}"
                    )
                self._lock.wait(left)
            return list(self.messages)

    def to(self, address: str) -> list[EmailMessage]:
        """Messages whose envelope went to `address`."""
        with self._lock:
            return [m for m, rcpt in zip(self.messages, self.envelopes, strict=True)
                    if address.lower() in (r.lower() for r in rcpt)]  # fmt: skip


def text_of(message: EmailMessage) -> str:
    """The plain-text part of a message."""
    part = message.get_body(("plain",))
    assert part is not None, "the message has no text/plain part"
    return str(part.get_content())  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description="SMTP sink: log each message's Message-ID")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    out = args.out.open("a", buffering=1)
    sink = MailSink(args.port)
    sink.headers_only = True
    sink.on_message = lambda m: out.write(f"{m['Message-ID']}\n")
    sink.start()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sink.stop()


if __name__ == "__main__":
    main()
