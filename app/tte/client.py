"""The agency's Esign Client Service over HTTP (API v1 multipart or v2 JSON, LMS_BSRE_API_VERSION),
with HTTP Basic auth from settings. The signer's NIK and passphrase travel in the request body
only: they are never logged, never put in an exception's text, never kept after the call.

Errors become one of four exceptions, by what the caller should do:
`CredentialRejected` (the official's NIK/passphrase/certificate: stop, ask again),
`DocumentRejected` (this PDF only: mark it failed, go on), `Unreachable` (network, timeouts,
gateway errors: retry later) and `BsreError` itself (anything else, e.g. the app's own API
user refused: stop).
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from app.core.config import Settings
from app.core.i18n import gettext_ as _
from app.tte import constants as c

log = logging.getLogger(__name__)


class BsreError(Exception):
    """BSrE (or the way to it) refused; `message` is for people, in Indonesian."""

    def __init__(self, message: str, *, code: int | None = None, http_status: int | None = None,
                 reason: str | None = None) -> None:  # fmt: skip
        super().__init__(message)
        self.message = message
        self.code = code
        self.http_status = http_status
        self.reason = reason  # BSrE's own text, for the log and the item's note


class CredentialRejected(BsreError):
    """The signing official's NIK, passphrase or certificate state: the batch stops."""


class DocumentRejected(BsreError):
    """This one PDF was refused (broken, unreadable); the others may go on."""


class Unreachable(BsreError):
    """No usable answer (connection, timeout, 502/503/504): worth a retry later."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """The official's NIK and passphrase, held in memory for one batch; never printed."""

    nik: str
    passphrase: str = field(repr=False)

    def __repr__(self) -> str:
        return f"Credentials(nik={self.nik[:4]}************)"


@dataclass(frozen=True, slots=True)
class Placement:
    """Where and how the signature appears (settings LMS_BSRE_VISIBLE/PAGE/X/Y/WIDTH/HEIGHT/TAG).
    Invisible by default; visible with a specimen image, or BSrE's QR code linking `link_qr`."""

    visible: bool = False
    page: int = 1
    x: float = 60.0
    y: float = 60.0
    width: float = 100.0
    height: float = 100.0
    tag: str | None = None
    specimen: bytes | None = None
    reason: str | None = None
    location: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Placement:
        specimen = None
        if settings.bsre_specimen_path:
            specimen = Path(settings.bsre_specimen_path).read_bytes()
        return cls(
            visible=settings.bsre_visible, page=settings.bsre_page, x=settings.bsre_x,
            y=settings.bsre_y, width=settings.bsre_width, height=settings.bsre_height,
            tag=settings.bsre_tag or None, specimen=specimen, reason=settings.bsre_reason,
            location=settings.cert_place,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class UserStatus:
    status: str
    code: str | None
    message: str | None

    @property
    def may_sign(self) -> bool:
        return self.status == c.STATUS_ISSUE


def _text(body: Any) -> str | None:
    if isinstance(body, dict):
        for name in c.ERROR_FIELDS:
            value = body.get(name)
            if isinstance(value, str) and value:
                return value
    return None


def _code(body: Any) -> int | None:
    if isinstance(body, dict):
        raw = body.get(c.CODE_FIELD)
        try:
            return int(raw) if raw is not None else None
        except (TypeError, ValueError):
            return None
    return None


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (ValueError, json.JSONDecodeError):
        return None


def error_from(response: httpx.Response, body: Any | None = None) -> BsreError:
    """The exception for a refusal, with BSrE's code mapped to an Indonesian message."""
    status = response.status_code
    body = _json(response) if body is None else body
    code, reason = _code(body), _text(body)
    if status == 401 or status == 403:
        return BsreError(_(c.MSG_AUTH), code=code, http_status=status, reason=reason)
    if status in (502, 503, 504, 429):
        return Unreachable(_(c.MSG_UNREACHABLE), code=code, http_status=status, reason=reason)
    if code in c.CREDENTIAL_CODES:
        return CredentialRejected(_(c.CODE_MESSAGES[code]), code=code, http_status=status,
                                  reason=reason)  # fmt: skip
    lowered = (reason or "").lower()
    if "passphrase" in lowered:
        return CredentialRejected(_(c.CODE_MESSAGES[c.CODE_WRONG_PASSPHRASE]), code=code,
                                  http_status=status, reason=reason)  # fmt: skip
    for word, msg in c.STATUS_MESSAGES.items():
        if word.lower() in lowered.replace(" ", "_"):
            return CredentialRejected(_(msg), code=code, http_status=status, reason=reason)
    if "signing gagal" in lowered or "pdf" in lowered or (status == 500 and body is not None):
        return DocumentRejected(_(c.MSG_BAD_PDF) % {"reason": reason or status}, code=code,
                                http_status=status, reason=reason)  # fmt: skip
    if status >= 500:
        return Unreachable(_(c.MSG_UNREACHABLE), code=code, http_status=status, reason=reason)
    if code in c.CODE_MESSAGES:
        return BsreError(_(c.CODE_MESSAGES[code]), code=code, http_status=status, reason=reason)
    return BsreError(_(c.MSG_UNKNOWN) % {"reason": reason or f"HTTP {status}"}, code=code,
                     http_status=status, reason=reason)  # fmt: skip


class EsignClient:
    """One Esign Client Service; thread-safe (one connection pool shared by the batch's
    workers)."""

    def __init__(self, base_url: str, username: str | None, password: str | None, *,
                 version: str = "1", timeout: float = 60.0, pool: int = 4) -> None:  # fmt: skip
        self.version = version
        auth = httpx.BasicAuth(username or "", password or "") if username else None
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), auth=auth, timeout=timeout,
            limits=httpx.Limits(max_connections=max(pool, 1), max_keepalive_connections=pool),
        )  # fmt: skip

    @classmethod
    def from_settings(cls, settings: Settings) -> EsignClient:
        if not settings.bsre_url:
            raise BsreError(_("TTE BSrE belum dikonfigurasi (LMS_BSRE_URL)."))
        password = settings.bsre_password.get_secret_value() if settings.bsre_password else None
        return cls(settings.bsre_url, settings.bsre_username, password,
                   version=settings.bsre_api_version, timeout=settings.bsre_timeout_seconds,
                   pool=settings.bsre_concurrency)  # fmt: skip

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> EsignClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            # The exception names the URL only; the body (passphrase) is never in it.
            log.warning("BSrE %s %s: %s", method, path.split("/{")[0], type(exc).__name__)
            raise Unreachable(_(c.MSG_UNREACHABLE), reason=type(exc).__name__) from None

    # --- user status ------------------------------------------------------------------------

    def user_status(self, nik: str) -> UserStatus:
        """The signer's certificate state (ISSUE is the only one that may sign)."""
        if self.version == "2":
            response = self._send("POST", c.V2_USER_STATUS_PATH, json={c.F_NIK: nik})
        else:
            response = self._send("GET", c.V1_USER_STATUS_PATH.format(nik=nik))
        body = _json(response)
        if response.status_code >= 400 and not (isinstance(body, dict) and c.STATUS_FIELD in body
                                                and isinstance(body[c.STATUS_FIELD], str)):
            raise error_from(response, body)  # fmt: skip
        if not isinstance(body, dict):
            raise Unreachable(_(c.MSG_UNREACHABLE), http_status=response.status_code)
        status = str(body.get(c.STATUS_FIELD) or "")
        raw_code = body.get(c.CODE_FIELD)
        return UserStatus(status, None if raw_code is None else str(raw_code),
                          body.get("message") if isinstance(body.get("message"), str) else None)

    def require_issue(self, nik: str) -> UserStatus:
        """The status, or CredentialRejected with the plain reason when it is not ISSUE."""
        found = self.user_status(nik)
        if found.may_sign:
            return found
        message = c.STATUS_MESSAGES.get(found.status)
        text = _(message) if message else _(c.MSG_STATUS_UNKNOWN) % {"s": found.status or "?"}
        code = int(found.code) if found.code and found.code.isdigit() else None
        raise CredentialRejected(text, code=code, reason=found.message)

    # --- signing ----------------------------------------------------------------------------

    def sign_pdf(self, pdf: bytes, credentials: Credentials, placement: Placement,
                 *, link_qr: str | None = None) -> bytes:  # fmt: skip
        """The PDF signed by BSrE for the official (PAdES, appended by the Esign Client)."""
        if self.version == "2":
            return self._sign_v2(pdf, credentials, placement)
        return self._sign_v1(pdf, credentials, placement, link_qr)

    def _sign_v1(self, pdf: bytes, cred: Credentials, place: Placement,
                 link_qr: str | None) -> bytes:  # fmt: skip
        data: dict[str, str] = {
            c.F_NIK: cred.nik,
            c.F_PASSPHRASE: cred.passphrase,
            c.F_TAMPILAN: c.V1_VISIBLE if place.visible else c.V1_INVISIBLE,
        }
        files: dict[str, tuple[str, bytes, str]] = {c.F_FILE: ("sertifikat.pdf", pdf,
                                                               "application/pdf")}  # fmt: skip
        if place.visible:
            if place.specimen is not None:
                data[c.F_IMAGE] = "true"
                files[c.F_IMAGE_TTD] = ("spesimen.png", place.specimen, "image/png")
            else:
                data[c.F_IMAGE] = "false"
                data[c.F_LINK_QR] = link_qr or ""
            data[c.F_WIDTH], data[c.F_HEIGHT] = _num(place.width), _num(place.height)
            if place.tag:
                data[c.F_TAG_KOORDINAT] = place.tag
            else:
                data[c.F_PAGE] = str(place.page)
                data[c.F_X], data[c.F_Y] = _num(place.x), _num(place.y)
        if place.reason:
            data[c.F_REASON] = place.reason
        if place.location:
            data[c.F_LOCATION] = place.location
        response = self._send("POST", c.V1_SIGN_PATH, data=data, files=files)
        if response.status_code != 200:
            raise error_from(response)
        if response.content.startswith(b"%PDF-"):
            return response.content
        body = _json(response)  # jenis_response=BASE64 style answers
        if isinstance(body, dict) and isinstance(body.get("base64_signed_file"), str):
            return base64.b64decode(body["base64_signed_file"])
        raise error_from(response, body) if _text(body) else DocumentRejected(
            _(c.MSG_BAD_PDF) % {"reason": _("jawaban bukan PDF")}, http_status=200
        )

    def _sign_v2(self, pdf: bytes, cred: Credentials, place: Placement) -> bytes:
        props: dict[str, Any] = {
            c.J_TAMPILAN: c.V2_VISIBLE if place.visible else c.V2_INVISIBLE,
        }
        if place.visible:
            props[c.J_WIDTH], props[c.J_HEIGHT] = place.width, place.height
            if place.tag:
                props[c.J_TAG] = place.tag
            else:
                props[c.J_PAGE] = place.page
                props[c.J_X], props[c.J_Y] = place.x, place.y
            if place.specimen is not None:
                props[c.J_IMAGE] = base64.b64encode(place.specimen).decode("ascii")
        if place.reason:
            props[c.J_REASON] = place.reason
        if place.location:
            props[c.J_LOCATION] = place.location
        payload = {
            c.F_NIK: cred.nik,
            c.F_PASSPHRASE: cred.passphrase,
            c.J_SIGNATURE_PROPERTIES: [props],
            c.J_FILE: [base64.b64encode(pdf).decode("ascii")],
        }
        response = self._send("POST", c.V2_SIGN_PATH, json=payload)
        body = _json(response)
        if response.status_code != 200 or (isinstance(body, dict) and _text(body)
                                            and not body.get(c.J_FILE)):
            raise error_from(response, body)  # fmt: skip
        files = body.get(c.J_FILE) if isinstance(body, dict) else None
        if not isinstance(files, list) or not files or not isinstance(files[0], str):
            raise DocumentRejected(_(c.MSG_BAD_PDF) % {"reason": _("jawaban tanpa berkas")},
                                   http_status=200)  # fmt: skip
        return base64.b64decode(files[0])


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
