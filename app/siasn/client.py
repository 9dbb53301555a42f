"""The SIASN web service client: the two tokens (APIM client credentials; SSO given or by the
password grant), cached until they expire and fetched again once on a 401, the headers BKN
wants, timeouts, retries with backoff on throttling and outages, and a pause between calls.

Tokens live in this process's memory only: never in the database, a job payload or a log line.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx

from app.core.config import Settings
from app.siasn import constants as c

log = logging.getLogger(__name__)

TOKEN_MARGIN_SECONDS = 30  # fetch a new token this long before the old one expires
APIM_DEFAULT_TTL = 3600  # when the reply names no expires_in (client defaults, not BKN rules)
SSO_DEFAULT_TTL = 43200


class SiasnError(Exception):
    """A call that did not do what was asked; `message` is SIASN's own text when it gave one."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Rejected(SiasnError):
    """SIASN refused the data (`success: false`): retrying the same data will not help."""


class NotFoundInSiasn(SiasnError):
    """404 `{code: 0, data: "Data tidak ditemukan"}`."""


class Unavailable(SiasnError):
    """Throttled, down or unreachable after the retries: try again later."""


class AuthFailed(Unavailable):
    """The tokens are refused even fresh (wrong key, expired SSO token): the officer must act."""


class NotConfigured(SiasnError):
    """Pushing is off (no LMS_SIASN_API_URL) or a credential is missing."""


@dataclass(slots=True)
class _Token:
    value: str
    expires_at: float


class _TokenCache:
    """Process-wide: every client of the same credentials shares the two tokens."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.tokens: dict[tuple[str, ...], _Token] = {}
        self.fetches = 0  # how many token requests this process made (tests, bench)

    def clear(self) -> None:
        with self.lock:
            self.tokens.clear()


tokens = _TokenCache()


def configured(settings: Settings) -> bool:
    """Pushing is on when the API URL is set (api-v1 "Integrations")."""
    return bool(settings.siasn_api_url)


def _is_token_error(status: int, body: Any) -> bool:
    if status == 401:
        return True
    if not isinstance(body, dict):
        return False
    message, data = str(body.get("message") or ""), body.get("data")
    if message in c.TOKEN_ERROR_MESSAGES or (isinstance(data, str) and data in c.TOKEN_ERROR_DATA):
        return True
    return message == c.RUNTIME_ERROR and c.THROTTLED_MARK not in str(body.get("description"))


def _is_throttled(status: int, body: Any) -> bool:
    if status in c.THROTTLED_STATUS:
        return True
    if not isinstance(body, dict):
        return False
    fault = body.get("fault")
    if isinstance(fault, dict) and fault.get("code") in c.WSO2_THROTTLE_CODES:
        return True
    return body.get("message") == c.RUNTIME_ERROR and c.THROTTLED_MARK in str(
        body.get("description")
    )


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _message(body: Any, fallback: str) -> str:
    """SIASN's own words: `message`, else a string `data`/`mapData`, else the WSO2 fault."""
    if isinstance(body, dict):
        for key in ("message", "Message", "data", "mapData", "Error"):
            value = body.get(key)
            if isinstance(value, str) and value and value != "success":
                return value[:1000]
        fault = body.get("fault")
        if isinstance(fault, dict):
            return str(fault.get("description") or fault.get("message") or fallback)[:1000]
    return fallback


class SiasnClient:
    """One SIASN connection; thread-safe (the push job may run calls side by side)."""

    def __init__(self, settings: Settings, http: httpx.Client | None = None) -> None:
        if not settings.siasn_api_url:
            raise NotConfigured("LMS_SIASN_API_URL belum diatur: pengiriman ke SIASN mati.")
        self.settings = settings
        self.base = settings.siasn_api_url.rstrip("/")
        self.http = http or httpx.Client(
            timeout=settings.siasn_timeout_seconds,
            limits=httpx.Limits(max_connections=max(4, settings.siasn_concurrency * 2)),
        )
        self._pace_lock = threading.Lock()
        self._next_call = 0.0
        self.calls = 0

    def close(self) -> None:
        self.http.close()

    # --- tokens -----------------------------------------------------------------------------

    def _key(self, which: str) -> tuple[str, ...]:
        s = self.settings
        if which == "apim":
            return ("apim", s.siasn_token_url or "", s.siasn_consumer_key or "")
        return ("sso", s.siasn_sso_token_url or "", s.siasn_sso_username or "")

    def _token(self, which: str) -> str:
        if which == "sso" and self.settings.siasn_sso_token is not None:
            return self.settings.siasn_sso_token.get_secret_value()
        key = self._key(which)
        with tokens.lock:
            held = tokens.tokens.get(key)
            if held is not None and held.expires_at > time.monotonic():
                return held.value
            fetched = self._fetch_apim() if which == "apim" else self._fetch_sso()
            tokens.tokens[key] = fetched
            tokens.fetches += 1
            return fetched.value

    def _drop_tokens(self) -> None:
        with tokens.lock:
            tokens.tokens.pop(self._key("apim"), None)
            tokens.tokens.pop(self._key("sso"), None)

    def _token_reply(self, response: httpx.Response, default_ttl: int, what: str) -> _Token:
        body = _json(response)
        if (
            response.status_code != 200
            or not isinstance(body, dict)
            or not body.get("access_token")
        ):
            # The reply may echo what was sent: never put its body in the message.
            raise AuthFailed(f"token {what} ditolak (HTTP {response.status_code})")
        ttl = int(body.get("expires_in") or default_ttl)
        return _Token(
            str(body["access_token"]), time.monotonic() + max(1, ttl - TOKEN_MARGIN_SECONDS)
        )

    def _fetch_apim(self) -> _Token:
        s = self.settings
        if not (s.siasn_token_url and s.siasn_consumer_key and s.siasn_consumer_secret):
            raise NotConfigured("Token APIM SIASN belum diatur (URL token, consumer key/secret).")
        try:
            response = self.http.post(
                s.siasn_token_url,
                data={"grant_type": "client_credentials"},
                auth=(s.siasn_consumer_key, s.siasn_consumer_secret.get_secret_value()),
            )
        except httpx.HTTPError as exc:
            raise Unavailable(f"token APIM tidak dapat diminta: {type(exc).__name__}") from None
        return self._token_reply(response, APIM_DEFAULT_TTL, "APIM")

    def _fetch_sso(self) -> _Token:
        s = self.settings
        if not (s.siasn_sso_token_url and s.siasn_sso_username and s.siasn_sso_password):
            raise NotConfigured("Token SSO SIASN belum diatur (token, atau URL + akun operator).")
        try:
            response = self.http.post(
                s.siasn_sso_token_url,
                data={
                    "grant_type": "password",
                    "client_id": s.siasn_sso_client_id or "",
                    "username": s.siasn_sso_username,
                    "password": s.siasn_sso_password.get_secret_value(),
                },
            )
        except httpx.HTTPError as exc:
            raise Unavailable(f"token SSO tidak dapat diminta: {type(exc).__name__}") from None
        return self._token_reply(response, SSO_DEFAULT_TTL, "SSO")

    # --- calls --------------------------------------------------------------------------------

    def _pace(self) -> None:
        """Leave settings.siasn_pause_seconds between the starts of two calls."""
        pause = self.settings.siasn_pause_seconds
        if pause <= 0:
            return
        with self._pace_lock:
            wait = self._next_call - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._next_call = time.monotonic() + pause

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {
            "Authorization": f"Bearer {self._token('apim')}",
            c.AUTH_HEADER: f"{c.AUTH_SCHEME} {self._token('sso')}",
            "Accept": "application/json",
        }
        self._pace()
        self.calls += 1
        return self.http.request(method, self.base + path, headers=headers, **kwargs)

    def request(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        """One call with its rules: a token error drops both tokens and tries once more with
        fresh ones; throttling, 5xx and network errors are retried with backoff
        (settings.siasn_retries times); returns (status, JSON body)."""
        s = self.settings
        refreshed = False
        attempt = 0
        while True:
            try:
                response = self._send(method, path, **kwargs)
                status, body = response.status_code, _json(response)
            except httpx.HTTPError as exc:
                status, body = 0, None
                failure = f"SIASN tidak dapat dihubungi: {type(exc).__name__}"
            else:
                if _is_throttled(status, body):
                    failure = f"SIASN membatasi permintaan (HTTP {status}): " + _message(
                        body, "throttled"
                    )
                elif status >= 500:
                    failure = f"SIASN sedang gangguan (HTTP {status}): " + _message(body, "")
                elif _is_token_error(status, body):
                    if refreshed:
                        raise AuthFailed("Token SIASN ditolak: " + _message(body, f"HTTP {status}"))
                    refreshed = True
                    self._drop_tokens()
                    continue
                else:
                    return status, body
            if attempt >= s.siasn_retries:
                raise Unavailable(failure)
            delay = s.siasn_backoff_seconds * 2**attempt
            attempt += 1
            log.info("siasn %s %s: %s; again in %.1f s", method, path.split("/")[1], failure, delay)
            time.sleep(delay)

    # --- the endpoints ------------------------------------------------------------------------

    def _data(self, status: int, body: Any) -> Any:
        if status == 404 or (isinstance(body, dict) and body.get("code") == 0):
            raise NotFoundInSiasn(_message(body, "Data tidak ditemukan"))
        if status != 200 or not isinstance(body, dict):
            raise Rejected(_message(body, f"HTTP {status}"))
        return body.get("data")

    def data_utama(self, nip: str) -> dict[str, Any]:
        """GET /pns/data-utama/{nip}: the ASN's main data; `id` is the pnsOrangId."""
        data = self._data(*self.request("GET", c.DATA_UTAMA.format(nip=nip)))
        if not isinstance(data, dict) or not data.get("id"):
            raise NotFoundInSiasn("NIP tidak ditemukan di SIASN")
        return data

    def riwayat(self, kind: str, nip: str) -> list[dict[str, Any]]:
        """GET /pns/rw-kursus/{nip} or rw-diklat: the ASN's records in SIASN."""
        path = (c.RW_KURSUS if kind == "kursus" else c.RW_DIKLAT).format(nip=nip)
        try:
            data = self._data(*self.request("GET", path))
        except NotFoundInSiasn:
            return []
        return [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []

    def save(self, kind: str, payload: dict[str, Any]) -> str:
        """POST /kursus/save or /diklat/save; `id` null creates, a stored id updates. Returns
        SIASN's id of the record (mapData.rwKursusId / rwDiklatId)."""
        status, body = self.request("POST", c.SAVE[kind], json=payload)
        if status != 200 or not isinstance(body, dict) or body.get("success") is not True:
            raise Rejected(_message(body, f"HTTP {status}"))
        map_data = body.get("mapData")
        saved = map_data.get(c.SAVED_ID_FIELD[kind]) if isinstance(map_data, dict) else None
        if not saved and payload.get("id"):
            saved = payload["id"]  # an update may answer without the id
        if not saved:
            raise Rejected(f"SIASN tidak mengembalikan {c.SAVED_ID_FIELD[kind]}")
        return str(saved)

    def delete(self, kind: str, siasn_id: str) -> None:
        """DELETE /kursus/delete/{id}; a record already gone counts as deleted."""
        status, body = self.request("DELETE", c.DELETE[kind].format(id=siasn_id))
        if status == 404:
            return
        if status != 200 or (isinstance(body, dict) and body.get("success") is False):
            raise Rejected(_message(body, f"HTTP {status}"))

    def upload(self, kind: str, siasn_id: str, filename: str, content: bytes) -> str | None:
        """POST /upload-dok-rw (multipart: file, id_riwayat, id_ref_dokumen); the dok_uri."""
        status, body = self.request(
            "POST", c.UPLOAD_DOK_RW,
            data={"id_riwayat": siasn_id, "id_ref_dokumen": str(c.DOK_SERTIFIKAT[kind])},
            files={"file": (filename, content, "application/pdf")},
        )  # fmt: skip
        if status != 200 or (isinstance(body, dict) and body.get("success") is False):
            raise Rejected(_message(body, f"HTTP {status}"))
        data = body.get("data") if isinstance(body, dict) else None
        return str(data.get("dok_uri")) if isinstance(data, dict) and data.get("dok_uri") else None
