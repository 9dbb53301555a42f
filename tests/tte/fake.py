"""A contract fake of BSrE's Esign Client Service (shared/integrations/bsre.md): a real HTTP server
on 127.0.0.1 that really signs PDFs with pyHanko, each signer with a certificate of its own from
a test CA (root -> intermediate -> person, like BSrE's chain), and answers BSrE's shapes:

- HTTP Basic on every call; a wrong pair gets 401 in Spring's format.
- v1 `POST /api/sign/pdf` (multipart) -> 200 the signed PDF (header `id_dokumen`); errors 400
  `{"status_code", "error"}`: 2031 "Passphrase anda salah !!!", 2011 "User tidak terdaftar",
  2021 (no certificate), an expired certificate, "Proses signing gagal : ..." for a bad PDF.
- v1 `GET /api/user/status/{nik}` -> `{status_code: 1111, status: "ISSUE", message}` etc.
- v2 `POST /api/v2/sign/pdf` (JSON, base64) -> `{"time", "file": [...]}`; bad PDF -> 500 Spring.
- v2 `POST /api/v2/user/check/status` -> 200 `{status_code, status, message}` for every state.

`latency` (seconds) delays every answer (the benchmark's 100 ms). `requests` records each call
(path, fields; the passphrase is masked). In a test: `fake = EsignFake().start()`; as a process:
`python -m tests.tte.fake --port 8123 --trust-out trust.pem --latency 0.1`.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import email.parser
import email.policy
import io
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.stamp import TextStampStyle
from pyhanko_certvalidator.registry import SimpleCertificateStore

from tests.ports import free_port

USERNAME = "lms-app"
PASSWORD = "rahasia-api-uji"
NIK_OK = "3201010101800001"  # ISSUE; passphrase below
PASSPHRASE_OK = "Passphrase#Benar1"
NIK_EXPIRED = "3201010101800002"
NIK_NO_CERT = "3201010101800003"
NIK_UNKNOWN = "3201010101800009"

_USAGE = dict(key_encipherment=False, data_encipherment=False, key_agreement=False,
              encipher_only=False, decipher_only=False)  # fmt: skip


def _name(cn: str, org: str = "Balai Besar Sertifikasi Elektronik (UJI)") -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "ID"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
    ])  # fmt: skip


def _cert(subject: x509.Name, key: ec.EllipticCurvePrivateKey, issuer: x509.Name,
          issuer_key: ec.EllipticCurvePrivateKey, *, ca: bool, days: int = 365,
          start: dt.datetime | None = None) -> x509.Certificate:  # fmt: skip
    now = start or dt.datetime.now(dt.UTC)
    usage = x509.KeyUsage(digital_signature=not ca, content_commitment=not ca, key_cert_sign=ca,
                          crl_sign=ca, **_USAGE)  # fmt: skip
    return (
        x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=1 if ca else None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                       critical=False)
        .sign(issuer_key, hashes.SHA256())
    )  # fmt: skip


def _asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


@dataclass
class FakeUser:
    nik: str
    name: str
    passphrase: str
    status: str = "ISSUE"  # ISSUE, EXPIRED, NO_CERTIFICATE, SUSPEND, ...
    signer: signers.SimpleSigner | None = None
    cert: x509.Certificate | None = None


class TestCa:
    """Root -> intermediate -> one certificate per signer, like BSrE's chain."""

    def __init__(self) -> None:
        self.root_key = ec.generate_private_key(ec.SECP256R1())
        root_name = _name("Root CA Indonesia UJI")
        self.root = _cert(root_name, self.root_key, root_name, self.root_key, ca=True, days=3650)
        self.int_key = ec.generate_private_key(ec.SECP256R1())
        self.intermediate = _cert(_name("BSrE UJI CA"), self.int_key, root_name, self.root_key,
                                  ca=True, days=1825)  # fmt: skip

    def issue(self, user: FakeUser) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _cert(_name(user.name), key, self.intermediate.subject, self.int_key, ca=False)
        key_der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())  # fmt: skip
        user.cert = cert
        user.signer = signers.SimpleSigner(
            signing_cert=_asn1(cert), signing_key=asn1_keys.PrivateKeyInfo.load(key_der),
            cert_registry=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
                [_asn1(self.intermediate), _asn1(self.root)]),
        )  # fmt: skip

    def trust_pem(self) -> bytes:
        """What LMS_BSRE_TRUST_PEM points at: the root and the intermediate."""
        return b"".join(c.public_bytes(serialization.Encoding.PEM)
                        for c in (self.root, self.intermediate))  # fmt: skip


class BadPdf(Exception):
    pass


@dataclass
class EsignFake:
    port: int = field(default_factory=free_port)
    latency: float = 0.0
    username: str = USERNAME
    password: str = PASSWORD
    requests: list[dict[str, Any]] = field(default_factory=list)
    users: dict[str, FakeUser] = field(default_factory=dict)
    sign_calls: int = 0

    def __post_init__(self) -> None:
        self.ca = TestCa()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        for user in (
            FakeUser(NIK_OK, "Dr. Hendra Wijaya, S.Sos., M.Si.", PASSPHRASE_OK),
            FakeUser(NIK_EXPIRED, "Pejabat Kedaluwarsa", PASSPHRASE_OK, status="EXPIRED"),
            FakeUser(NIK_NO_CERT, "Pejabat Tanpa Sertifikat", PASSPHRASE_OK,
                     status="NO_CERTIFICATE"),
        ):  # fmt: skip
            self.add_user(user)

    def add_user(self, user: FakeUser) -> FakeUser:
        if user.status not in ("NO_CERTIFICATE", "NOT_REGISTERED"):
            self.ca.issue(user)
        self.users[user.nik] = user
        return user

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def write_trust(self, path: Path) -> Path:
        path.write_bytes(self.ca.trust_pem())
        return path

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()
            self.sign_calls = 0

    # --- the server ----------------------------------------------------------------------------

    def start(self) -> EsignFake:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

            def log_message(self, *_args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _authorised(self, handler: BaseHTTPRequestHandler) -> bool:
        expected = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return handler.headers.get("Authorization", "") == f"Basic {expected}"

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        if self.latency:
            time.sleep(self.latency)
        path = handler.path.split("?")[0]
        if not self._authorised(handler):
            return self._json(handler, 401, {
                "timestamp": dt.datetime.now(dt.UTC).isoformat(), "status": 401,
                "error": "Unauthorized", "path": path})  # fmt: skip
        try:
            if method == "GET" and path.startswith("/api/user/status/"):
                self._record(path, {"nik": path.rsplit("/", 1)[1]})
                return self._json(handler, 200, self._status(path.rsplit("/", 1)[1], v2=False))
            if method == "POST" and path == "/api/v2/user/check/status":
                body = json.loads(raw or b"{}")
                self._record(path, {"nik": body.get("nik")})
                return self._json(handler, 200, self._status(str(body.get("nik") or ""), v2=True))
            if method == "POST" and path == "/api/sign/pdf":
                return self._sign_v1(handler, raw)
            if method == "POST" and path == "/api/v2/sign/pdf":
                return self._sign_v2(handler, raw)
        except Exception as exc:  # the real service answers 500 in Spring's format
            return self._json(handler, 500, {"status": 500, "error": "Internal Server Error",
                                             "message": type(exc).__name__, "path": path})
        return self._json(handler, 404, {"status": 404, "error": "Not Found", "path": path})

    def _record(self, path: str, fields_: dict[str, Any]) -> None:
        shown = {k: ("***" if k == "passphrase" else v) for k, v in fields_.items()}
        with self._lock:
            self.requests.append({"path": path, "fields": shown})

    @staticmethod
    def _json(handler: BaseHTTPRequestHandler, status: int, body: Any,
              headers: dict[str, str] | None = None) -> None:  # fmt: skip
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            handler.send_header(k, v)
        handler.end_headers()
        handler.wfile.write(data)

    def _status(self, nik: str, *, v2: bool) -> dict[str, Any]:
        user = self.users.get(nik)
        if user is None or len(nik) != 16:
            return ({"status_code": 2011, "status": "NOT_REGISTERED", "message": "User belum terdaftar"}
                    if v2 else {"status_code": 1110, "status": "NOT_REGISTERED",
                                "message": "User belum terdaftar"})  # fmt: skip
        if user.status == "ISSUE":
            return {"status_code": "1111" if v2 else 1111, "status": "ISSUE",
                    "message": "User sudah terdaftar dan memiliki sertifikat dengan status ISSUE"}
        codes = {"NO_CERTIFICATE": 2021}
        return {"status_code": codes.get(user.status, 2099), "status": user.status,
                "message": f"Status sertifikat {user.status}"}  # fmt: skip

    def _credential_error(self, nik: str, passphrase: str) -> dict[str, Any] | None:
        user = self.users.get(nik)
        if user is None:
            return {"status_code": 2011, "error": "User tidak terdaftar"}
        if user.status == "NO_CERTIFICATE":
            return {"status_code": 2021, "error": "User tidak memiliki sertifikat"}
        if user.status == "EXPIRED":
            return {"error": "Sertifikat user sudah expired"}  # no code is documented [?]
        if user.status != "ISSUE":
            return {"error": f"Sertifikat user berstatus {user.status}"}
        if passphrase != user.passphrase:
            return {"status_code": 2031, "error": "Passphrase anda salah !!!"}
        return None

    def _sign_v1(self, handler: BaseHTTPRequestHandler, raw: bytes) -> None:
        ctype = handler.headers.get("Content-Type", "")
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + raw)
        form: dict[str, str] = {}
        files: dict[str, bytes] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            if part.get_filename():
                files[str(name)] = payload
            else:
                form[str(name)] = payload.decode()
        self._record("/api/sign/pdf", {**form, "files": sorted(files)})
        with self._lock:
            self.sign_calls += 1
        problem = self._credential_error(form.get("nik", ""), form.get("passphrase", ""))
        if problem is not None:
            return self._json(handler, 400, problem)
        if form.get("tampilan", "").lower() not in ("visible", "invisible") or "file" not in files:
            return self._json(handler, 400, {"error": "Parameter tidak lengkap"})
        try:
            signed = self._sign(files["file"], self.users[form["nik"]], form,
                                visible=form["tampilan"].lower() == "visible")  # fmt: skip
        except BadPdf as exc:
            return self._json(handler, 400, {"error": f"Proses signing gagal : {exc}"})
        handler.send_response(200)
        handler.send_header("Content-Type", "application/pdf")
        handler.send_header("Content-Length", str(len(signed)))
        handler.send_header("id_dokumen", uuid.uuid4().hex)
        handler.end_headers()
        handler.wfile.write(signed)

    def _sign_v2(self, handler: BaseHTTPRequestHandler, raw: bytes) -> None:
        started = time.monotonic()
        body = json.loads(raw)
        props = body.get("signatureProperties") or [{}]
        self._record("/api/v2/sign/pdf", {**{k: v for k, v in body.items() if k != "file"},
                                          "files": len(body.get("file") or [])})
        with self._lock:
            self.sign_calls += 1
        problem = self._credential_error(str(body.get("nik") or ""), str(body.get("passphrase")
                                                                         or ""))
        if problem is not None:
            return self._json(handler, 400, {**problem, "status_code": problem.get("status_code",
                                                                                   2099)})
        out = []
        try:
            for b64, prop in zip(body.get("file") or [], props, strict=False):
                out.append(base64.b64encode(self._sign(
                    base64.b64decode(b64), self.users[body["nik"]], prop,
                    visible=str(prop.get("tampilan", "")).upper() == "VISIBLE")).decode())
        except BadPdf:
            return self._json(handler, 500, {"timestamp": dt.datetime.now(dt.UTC).isoformat(),
                                             "status": 500, "error": "Internal Server Error",
                                             "path": "/api/v2/sign/pdf"})  # fmt: skip
        return self._json(handler, 200, {"time": int((time.monotonic() - started) * 1000),
                                         "file": out})

    @staticmethod
    def _sign(pdf: bytes, user: FakeUser, props: dict[str, Any], *, visible: bool) -> bytes:
        assert user.signer is not None
        try:
            writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        except Exception as exc:
            raise BadPdf(f"com.itextpdf.text.exceptions.InvalidPdfException: {exc}") from None
        field_name = f"BSrE-{uuid.uuid4().hex[:8]}"
        spec = None
        if visible:
            x = float(props.get("xAxis", props.get("originX", 60)))
            y = float(props.get("yAxis", props.get("originY", 60)))
            w = float(props.get("width", 100))
            h = float(props.get("height", 100))
            page = int(props.get("page", 1)) - 1
            spec = fields.SigFieldSpec(field_name, on_page=page, box=(x, y, x + w, y + h))
        meta = signers.PdfSignatureMetadata(
            field_name=field_name, md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            reason=props.get("reason") or None, location=props.get("location") or None,
        )  # fmt: skip
        pdf_signer = signers.PdfSigner(
            meta, signer=user.signer, new_field_spec=spec,
            stamp_style=TextStampStyle(stamp_text="Ditandatangani secara elektronik oleh\n"
                                                  "%(signer)s\n%(ts)s"),
        )  # fmt: skip
        out = io.BytesIO()
        try:
            pdf_signer.sign_pdf(writer, output=out)
        except Exception as exc:
            raise BadPdf(f"com.itextpdf.text.exceptions.InvalidPdfException: {exc}") from None
        return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description="BSrE Esign Client Service fake (loopback)")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per call")
    parser.add_argument("--trust-out", type=Path, required=True, help="write root+intermediate PEM")
    args = parser.parse_args()
    fake = EsignFake(port=args.port or free_port(), latency=args.latency)
    fake.write_trust(args.trust_out)
    fake.start()
    print(f"READY {fake.url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
