"""A contract fake of BKN's SIASN web service (shared/integrations/siasn.md): a real HTTP server
on 127.0.0.1 that wants both tokens (APIM client credentials in `Authorization: Bearer`, the SSO
token in `Auth: bearer`), answers in SIASN's shapes (`{code, data}` for reads, `{success,
message, mapData: {rwKursusId}}` for saves, `{code: 0, data: "Data tidak ditemukan"}` with 404),
401 on expired tokens, `success: false` + message on invalid data, throttling on demand (WSO2
429 "Message throttled out" / "Runtime Error ... SUSPENDED") and a simulated latency.

In-process: `fake = FakeSiasn().start()`; `fake.url`, `fake.settings_env()`. As a process (the
benchmark): `python -m tests.siasn.fake --latency 0.05` prints its URL, and /__fake/* controls it.
"""

from __future__ import annotations

import argparse
import base64
import email.parser
import email.policy
import hashlib
import json
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

API_BASE = "/apisiasn/1.0"
TOKEN_PATH = "/oauth2/token"
SSO_PATH = "/auth/realms/public-siasn/protocol/openid-connect/token"
DATE = re.compile(r"^(\d{2})-(\d{2})-(\d{4})$")
DOK = {"kursus": 881, "diklat": 874}
MAX_DOC = 1_000_000
NOT_FOUND = {"code": 0, "data": "Data tidak ditemukan"}
# Test credentials, distinctive so that a test can grep for them in logs, rows and payloads.
SECRET = "apim-rahasia-9f3c1e"
SSO_TOKEN = "sso-rahasia-7d2b4a"


def _valid_date(text: Any) -> bool:
    m = DATE.match(str(text or ""))
    if not m:
        return False
    d, mth, y = (int(g) for g in m.groups())
    return 1 <= d <= 31 and 1 <= mth <= 12 and 1900 < y < 2200


@dataclass
class Stats:
    calls: dict[str, int] = field(default_factory=dict)
    created: int = 0
    updated: int = 0
    deleted: int = 0
    uploads: int = 0
    throttled: int = 0
    unauthorized: int = 0
    tokens_issued: int = 0

    def hit(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1


class FakeSiasn:
    def __init__(self, *, consumer_key: str = "lms-consumer", consumer_secret: str = SECRET,
                 sso_token: str = SSO_TOKEN, sso_user: tuple[str, str] | None = None,
                 token_ttl: int = 3600, latency: float = 0.0) -> None:  # fmt: skip
        self.consumer_key, self.consumer_secret = consumer_key, consumer_secret
        self.sso_tokens = {sso_token} if sso_token else set()
        self.sso_user = sso_user
        self.token_ttl = token_ttl
        self.latency = latency
        self.lock = threading.Lock()
        self.apim_tokens: dict[str, float] = {}  # token -> expires (monotonic)
        self.unknown_nips: set[str] = set()
        self.persons: dict[str, dict[str, Any]] = {}  # nip -> data-utama
        self.by_id: dict[str, dict[str, Any]] = {}  # pnsOrangId -> data-utama
        self.kursus: dict[str, dict[str, Any]] = {}
        self.diklat: dict[str, dict[str, Any]] = {}
        self.throttled_until = 0.0
        self.reject_saves: str | None = None  # every save answers success:false with this
        self.stats = Stats()
        self._server: ThreadingHTTPServer | None = None
        self.url = ""

    # --- control ----------------------------------------------------------------------------

    def start(self, port: int = 0) -> FakeSiasn:
        fake = self

        class Handler(_Handler):
            pass

        Handler.fake = fake
        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def settings_env(self) -> dict[str, Any]:
        """The LMS settings that point at this fake."""
        return {
            "siasn_api_url": self.url + API_BASE,
            "siasn_token_url": self.url + TOKEN_PATH,
            "siasn_consumer_key": self.consumer_key,
            "siasn_consumer_secret": self.consumer_secret,
            "siasn_sso_token": next(iter(self.sso_tokens), None),
        }

    def expire_tokens(self) -> None:
        """Every APIM token issued so far is now expired (the next call gets a 401)."""
        with self.lock:
            for token in self.apim_tokens:
                self.apim_tokens[token] = 0.0

    def throttle(self, seconds: float) -> None:
        self.throttled_until = time.monotonic() + seconds

    def records(self, kind: str = "kursus") -> list[dict[str, Any]]:
        with self.lock:
            return [dict(r) for r in (self.kursus if kind == "kursus" else self.diklat).values()]

    def person(self, nip: str) -> dict[str, Any] | None:
        if nip in self.unknown_nips or not re.fullmatch(r"\d{18}", nip):
            return None
        with self.lock:
            if nip in self.persons:
                return self.persons[nip]
            self.persons[nip] = {
                "id": hashlib.md5(nip.encode()).hexdigest().upper(),  # noqa: S324 - an id
                "nipBaru": nip, "nipLama": nip[:9], "nama": f"ASN {nip[-4:]}", "nik": None,
                "tglLahir": f"{nip[6:8]}-{nip[4:6]}-{nip[0:4]}",
                "instansiKerjaId": "A5EB03E23CFBF6A0E040640A040252AD", "unorId": None,
            }  # fmt: skip
            self.by_id[self.persons[nip]["id"]] = self.persons[nip]
            return self.persons[nip]

    # --- the service --------------------------------------------------------------------------

    def issue_apim(self, basic: str | None, form: dict[str, str]) -> tuple[int, Any]:
        expected = base64.b64encode(f"{self.consumer_key}:{self.consumer_secret}".encode()).decode()
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}
        if basic != expected:
            return 401, {
                "error": "invalid_client",
                "error_description": "Client Authentication failed.",
            }
        token = secrets.token_hex(16)
        with self.lock:
            self.apim_tokens[token] = time.monotonic() + self.token_ttl
            self.stats.tokens_issued += 1
        return 200, {"access_token": token, "scope": "default", "token_type": "Bearer",
                     "expires_in": self.token_ttl}  # fmt: skip

    def issue_sso(self, form: dict[str, str]) -> tuple[int, Any]:
        if (
            form.get("grant_type") != "password"
            or self.sso_user is None
            or (form.get("username"), form.get("password")) != self.sso_user
        ):
            return 401, {"error": "invalid_grant", "error_description": "Invalid user credentials"}
        token = secrets.token_hex(24)
        with self.lock:
            self.sso_tokens.add(token)
            self.stats.tokens_issued += 1
        return 200, {"access_token": token, "expires_in": 43200, "token_type": "Bearer",
                     "refresh_token": secrets.token_hex(8), "scope": "profile email"}  # fmt: skip

    def authorise(self, headers: Any) -> tuple[int, Any] | None:
        bearer = str(headers.get("Authorization") or "")
        auth = str(headers.get("Auth") or "")
        apim = bearer[7:] if bearer.startswith("Bearer ") else ""
        with self.lock:
            expires = self.apim_tokens.get(apim)
        if expires is None:
            return 401, {"code": 900901, "message": "Invalid Credentials",
                         "description": "Invalid Credentials. Make sure you have provided the correct security credentials"}  # fmt: skip
        if expires < time.monotonic():
            return 401, {"message": "invalid or expired jwt"}
        scheme, _, sso = auth.partition(" ")
        if scheme.lower() != "bearer" or sso not in self.sso_tokens:
            return 401, {"code": 0, "data": "Token SSO mismatch"}
        return None

    def save(self, kind: str, body: Any) -> tuple[int, Any]:
        if self.reject_saves:
            return 200, {"success": False, "message": self.reject_saves}
        if not isinstance(body, dict):
            return 400, {"success": False, "message": "Body harus JSON"}
        error = self._invalid(kind, body)
        if error:
            return 200, {"success": False, "message": error}
        store = self.kursus if kind == "kursus" else self.diklat
        person = self.by_id[body["pnsOrangId"]]
        with self.lock:
            rid = body.get("id")
            if rid:
                if rid not in store:
                    return 200, {
                        "success": False,
                        "message": f"Data riwayat {kind} tidak ditemukan",
                    }
                self.stats.updated += 1
                old_path = store[rid].get("path") or {}
            else:
                rid = uuid.uuid4().hex
                self.stats.created += 1
                old_path = {}
            store[rid] = self._item(kind, rid, person, body, old_path)
        field_name = "rwKursusId" if kind == "kursus" else "rwDiklatId"
        return 200, {"success": True, "message": "success", "mapData": {field_name: rid}}

    def _invalid(self, kind: str, b: dict[str, Any]) -> str | None:
        if b.get("pnsOrangId") not in self.by_id:
            return "pnsOrangId tidak ditemukan"
        dates = (
            ("tanggalKursus", "tanggalSelesaiKursus")
            if kind == "kursus"
            else ("tanggal", "tanggalSelesai")
        )
        for name in dates:
            if not _valid_date(b.get(name)):
                return f"{name} harus berformat dd-mm-yyyy"
        if not isinstance(b.get("jumlahJam"), int) or b["jumlahJam"] <= 0:
            return "jumlahJam harus bilangan bulat lebih dari 0"
        if kind == "kursus":
            jenis = str(b.get("jenisDiklatId") or "")
            if not jenis.isdigit() or not 1 <= int(jenis) <= 25:
                return "jenisDiklatId tidak valid"
            if jenis == "1":
                return "Diklat Struktural disimpan melalui riwayat diklat"
            if not str(b.get("namaKursus") or "").strip():
                return "namaKursus wajib diisi"
            if not isinstance(b.get("tahunKursus"), int):
                return "tahunKursus harus angka"
            if not str(b.get("nomorSertipikat") or "").strip():
                return "nomorSertipikat wajib diisi"
        else:
            if str(b.get("latihanStrukturalId")) not in {str(i) for i in range(1, 9)}:
                return "latihanStrukturalId tidak valid"
            if not str(b.get("nomor") or "").strip():
                return "nomor wajib diisi"
        return None

    @staticmethod
    def _item(kind: str, rid: str, p: dict[str, Any], b: dict[str, Any],
              path: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
        common = {"id": rid, "idPns": p["id"], "nipBaru": p["nipBaru"], "nipLama": p["nipLama"],
                  "institusiPenyelenggara": b.get("institusiPenyelenggara"),
                  "jumlahJam": b["jumlahJam"], "path": path}  # fmt: skip
        if kind == "kursus":
            return common | {
                "jenisKursusId": b.get("jenisKursus") or None, "jenisKursusNama": None,
                "jenisKursusSertifikat": b.get("jenisKursusSertipikat"),
                "jenisDiklatId": int(b["jenisDiklatId"]), "namaKursus": b["namaKursus"],
                "noSertipikat": b["nomorSertipikat"], "tahunKursus": b["tahunKursus"],
                "tanggalKursus": b["tanggalKursus"], "tanggalSelesaiKursus": b["tanggalSelesaiKursus"],
            }  # fmt: skip
        return common | {
            "latihanStrukturalId": str(b["latihanStrukturalId"]), "latihanStrukturalNama": None,
            "nomor": b["nomor"], "tanggal": b["tanggal"], "tahun": b.get("tahun"),
            "tanggalSelesai": b["tanggalSelesai"],
        }  # fmt: skip

    def upload(self, fields: dict[str, str], file: tuple[str, bytes] | None) -> tuple[int, Any]:
        rid, ref = fields.get("id_riwayat", ""), fields.get("id_ref_dokumen", "")
        with self.lock:
            kind = "kursus" if rid in self.kursus else "diklat" if rid in self.diklat else None
            if kind is None:
                return 200, {"success": False, "message": "id_riwayat tidak ditemukan"}
            if ref != str(DOK[kind]):
                return 200, {
                    "success": False,
                    "message": f"id_ref_dokumen {ref} bukan dokumen riwayat {kind}",
                }
            if file is None or not file[1].startswith(b"%PDF-"):
                return 200, {"success": False, "message": "File harus PDF"}
            if len(file[1]) > MAX_DOC:
                return 200, {"success": False, "message": "Ukuran file melebihi 1 MB"}
            uri = f"peremajaan/usulan/{uuid.uuid4().hex}_{file[0]}"
            dok = {"dok_id": ref, "dok_nama": "Dok Sertifikat Kursus" if kind == "kursus" else "Dok Sertifikat Diklat",
                   "dok_uri": uri, "object": uri, "slug": ref,
                   "size": len(file[1]), "sha256": hashlib.sha256(file[1]).hexdigest()}  # fmt: skip
            store = self.kursus if kind == "kursus" else self.diklat
            store[rid]["path"] = dict(store[rid].get("path") or {}) | {ref: dok}
            self.stats.uploads += 1
        return 200, {"success": True, "message": "success",
                     "data": {k: dok[k] for k in ("dok_id", "dok_nama", "dok_uri", "object", "slug")}}  # fmt: skip

    def route(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, Any]:
        if path.startswith("/__fake/"):
            return self.control(method, path, body)
        if self.latency:
            time.sleep(self.latency)
        if method == "POST" and path == TOKEN_PATH:
            basic = str(headers.get("Authorization") or "")
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            return self.issue_apim(basic[6:] if basic.startswith("Basic ") else None, form)
        if method == "POST" and path == SSO_PATH:
            return self.issue_sso({k: v[0] for k, v in parse_qs(body.decode()).items()})
        if not path.startswith(API_BASE + "/"):
            return 404, {"code": 0, "data": "Not Found"}
        rel = path[len(API_BASE) :]
        self.stats.hit(f"{method} {rel.split('/')[1]}")
        if time.monotonic() < self.throttled_until:
            self.stats.throttled += 1
            return 429, {"message": "Runtime Error", "description": "API SUSPENDED: Message throttled out",
                         "fault": {"code": 900802, "message": "Message throttled out",
                                   "description": "You have exceeded your quota"}}  # fmt: skip
        denied = self.authorise(headers)
        if denied:
            self.stats.unauthorized += 1
            return denied
        return self.api(method, rel, headers, body)

    def api(self, method: str, rel: str, headers: Any, body: bytes) -> tuple[int, Any]:
        parts = rel.strip("/").split("/")
        if method == "GET" and parts[:2] == ["pns", "data-utama"] and len(parts) == 3:
            person = self.person(parts[2])
            return (200, {"code": 1, "data": person}) if person else (404, NOT_FOUND)
        if (
            method == "GET"
            and parts[0] == "pns"
            and parts[1] in ("rw-kursus", "rw-diklat")
            and len(parts) == 3
        ):
            store = self.kursus if parts[1] == "rw-kursus" else self.diklat
            with self.lock:
                items = [dict(r) for r in store.values() if r["nipBaru"] == parts[2]]
            return 200, {"code": 1, "data": items, "count": len(items)}
        if parts[0] in ("kursus", "diklat"):
            store = self.kursus if parts[0] == "kursus" else self.diklat
            if method == "POST" and parts[1:] == ["save"]:
                try:
                    data = json.loads(body or b"null")
                except ValueError:
                    data = None
                return self.save(parts[0], data)
            if method == "GET" and len(parts) == 3 and parts[1] == "id":
                with self.lock:
                    item = store.get(parts[2])
                return (200, {"code": 1, "data": item}) if item else (404, NOT_FOUND)
            if method == "DELETE" and len(parts) == 3 and parts[1] == "delete":
                with self.lock:
                    if store.pop(parts[2], None) is None:
                        return 404, NOT_FOUND
                    self.stats.deleted += 1
                return 200, {"success": True, "message": "success"}
        if method == "POST" and parts == ["upload-dok-rw"]:
            return self.upload(*_multipart(str(headers.get("Content-Type") or ""), body))
        return 404, {"code": 0, "data": "Not Found"}

    def control(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        args = json.loads(body or b"{}") if method == "POST" else {}
        if path == "/__fake/throttle":
            self.throttle(float(args.get("seconds", 2)))
        elif path == "/__fake/expire":
            self.expire_tokens()
        elif path == "/__fake/latency":
            self.latency = float(args.get("seconds", 0))
        elif path != "/__fake/stats":
            return 404, {}
        with self.lock:
            numbers = {n: len(r.get("path") or {}) for n, r in self.kursus.items()}
            numbers_list = [r.get("noSertipikat") for r in self.kursus.values()]
        return 200, {
            "calls": self.stats.calls, "created": self.stats.created, "updated": self.stats.updated,
            "deleted": self.stats.deleted, "uploads": self.stats.uploads,
            "throttled": self.stats.throttled, "unauthorized": self.stats.unauthorized,
            "kursus": len(numbers), "with_document": sum(1 for v in numbers.values() if v),
            "distinct_numbers": len(set(numbers_list)),
        }  # fmt: skip


def _multipart(content_type: str, body: bytes) -> tuple[dict[str, str], tuple[str, bytes] | None]:
    """The fields and the file of a multipart/form-data body (stdlib e-mail parser)."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode() + body
    )
    fields: dict[str, str] = {}
    file: tuple[str, bytes] | None = None
    if not message.is_multipart():
        return fields, None
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            file = (filename, payload)
        elif name:
            fields[str(name)] = payload.decode()
    return fields, file


class _Handler(BaseHTTPRequestHandler):
    fake: FakeSiasn
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, answer = self.fake.route(self.command, urlsplit(self.path).path, self.headers, body)
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = _handle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    fake = FakeSiasn(latency=args.latency).start(args.port)
    print(fake.url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
