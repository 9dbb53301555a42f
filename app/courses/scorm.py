"""SCORM 1.2 packages: check an uploaded zip before anything is unpacked, read its manifest,
and stream its files into storage under app-made keys (pure: no database, no HTTP).

Rules kept here: zip safety (zip-slip, symlinks, bombs, encryption), manifest parsing with
defusedxml, choice of the launch file, and content types of the unpacked files.
"""

from __future__ import annotations

import contextlib
import hashlib
import mimetypes
import posixpath
import re
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any, BinaryIO
from urllib.parse import unquote, urlsplit
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as SafeET

from app.core.config import Settings, get_settings
from app.core.errors import PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from app.storage.base import Storage

MANIFEST_NAME = "imsmanifest.xml"
# Technical safety limits (not agency rules): a manifest listing 5,000 files is well under 2 MiB.
MAX_MANIFEST_BYTES = 8 * 1024**2
MAX_PATH_CHARS = 1024  # ScormFile.path column
# Per-entry compression ratio is only judged above this size: small text files compress far
# better than 100:1 and are harmless; a bomb needs many megabytes of output to hurt.
RATIO_MIN_ENTRY_BYTES = 1024**2
_READ_CHUNK = 64 * 1024
_SUPPORTED_COMPRESSION = {
    zipfile.ZIP_STORED,
    zipfile.ZIP_DEFLATED,
    zipfile.ZIP_BZIP2,
    zipfile.ZIP_LZMA,
}

_XML_NS = "{http://www.w3.org/XML/1998/namespace}"
# Namespaces that only SCORM 2004 (CAM 1.3) manifests use.
_SCORM2004_NAMESPACES = (
    "http://www.adlnet.org/xsd/adlcp_v1p3",
    "http://www.adlnet.org/xsd/adlseq_v1p3",
    "http://www.adlnet.org/xsd/adlnav_v1p3",
    "http://www.imsglobal.org/xsd/imsss",
)
_SCORM2004_VERSION_RE = re.compile(r"2004|CAM\s*1\.3|^\s*1\.3", re.IGNORECASE)
_ELEMENT_START_RE = re.compile(rb"<[A-Za-z_]")
_XML_NOISE_RE = re.compile(rb"<\?.*?\?>|<!--.*?-->", re.DOTALL)
_DRIVE_RE = re.compile(r"^[A-Za-z]:")

_DEFAULT_CONTENT_TYPE = "application/octet-stream"
# mimetypes depends on the host's /etc/mime.types; these must not vary between servers.
_CONTENT_TYPES = {
    ".html": "text/html",
    ".htm": "text/html",
    ".xhtml": "application/xhtml+xml",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".json": "application/json",
    ".xml": "application/xml",
    ".xsd": "application/xml",
    ".txt": "text/plain",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".eot": "application/vnd.ms-fontobject",
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".webm": "video/webm",
    ".ogv": "video/ogg",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".ogg": "audio/ogg",
    ".wav": "audio/wav",
    ".vtt": "text/vtt",
    ".pdf": "application/pdf",
    ".swf": "application/x-shockwave-flash",
    ".wasm": "application/wasm",
}


@dataclass(frozen=True, slots=True)
class ScormResource:
    """A manifest `<resource>`; `href` and `files` are paths inside the zip (xml:base applied)."""

    identifier: str
    type: str
    scorm_type: str | None  # "sco", "asset", or None when the manifest does not say
    href: str | None
    files: tuple[str, ...] = ()
    dependencies: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ScormItem:
    """One `<item>` of the default organization, flattened with its depth for a contents list."""

    identifier: str
    title: str
    depth: int  # 0 for the organization's direct children
    resource_identifier: str | None
    scorm_type: str | None
    launch_href: str | None  # path inside the package + parameters; None for a folder item
    parameters: str | None = None
    mastery_score: float | None = None
    data_from_lms: str | None = None
    is_visible: bool = True


@dataclass(frozen=True, slots=True)
class PackageInfo:
    """What `inspect_package` learnt; `manifest_json()` is what the package row stores."""

    version: str
    identifier: str
    title: str
    launch_href: str
    launch_item: str | None  # identifier of the item launched; None when launched from resources
    mastery_score: float | None
    launch_data: str | None
    items: tuple[ScormItem, ...]
    resources: tuple[ScormResource, ...]
    entries: tuple[tuple[str, int], ...]  # (path, size) of every file, directories left out
    sha256: str  # of the whole uploaded archive
    archive_size: int
    total_size: int  # sum of the entries' declared sizes

    @property
    def file_count(self) -> int:
        return len(self.entries)

    def manifest_json(self) -> dict[str, Any]:
        """A JSON-able summary of the manifest for `ScormPackage.manifest_json`."""
        return {
            "version": self.version,
            "identifier": self.identifier,
            "title": self.title,
            "launch_href": self.launch_href,
            "launch_item": self.launch_item,
            "mastery_score": self.mastery_score,
            "launch_data": self.launch_data,
            "items": [
                {
                    "identifier": item.identifier,
                    "title": item.title,
                    "depth": item.depth,
                    "resource": item.resource_identifier,
                    "scorm_type": item.scorm_type,
                    "launch_href": item.launch_href,
                    "parameters": item.parameters,
                    "mastery_score": item.mastery_score,
                    "data_from_lms": item.data_from_lms,
                    "is_visible": item.is_visible,
                }
                for item in self.items
            ],
            "resources": [
                {
                    "identifier": res.identifier,
                    "type": res.type,
                    "scorm_type": res.scorm_type,
                    "href": res.href,
                    "files": list(res.files),
                    "dependencies": list(res.dependencies),
                }
                for res in self.resources
            ],
        }


@dataclass(frozen=True, slots=True)
class UnpackedFile:
    """One file written to storage: the caller keeps the path -> storage_key table."""

    path: str
    storage_key: str
    size: int
    content_type: str
    sha256: str


# --------------------------------------------------------------------------- errors


def _invalid(detail: str, code: str) -> ValidationFailed:
    return ValidationFailed(detail, field="file", code=code)


def _too_large(detail: str, code: str, **extra: Any) -> PayloadTooLarge:
    return PayloadTooLarge(detail, code=code, field="file", **extra)


# --------------------------------------------------------------------------- archive checks


def _archive_size_and_hash(data: BinaryIO, max_bytes: int) -> tuple[int, str]:
    """Size and sha256 of the upload, streamed; refuses it above `max_scorm_bytes`."""
    data.seek(0, 2)
    size = data.tell()
    if size > max_bytes:
        raise _too_large(
            f"Paket SCORM berukuran {size:,} byte, melebihi batas {max_bytes:,} byte.",
            "scorm_archive_too_large",
            max_bytes=max_bytes,
        )
    data.seek(0)
    digest = hashlib.sha256()
    while chunk := data.read(_READ_CHUNK):
        digest.update(chunk)
    data.seek(0)
    return size, digest.hexdigest()


def _declared_entry_count(data: BinaryIO, size: int) -> int | None:
    """Entry count from the end-of-central-directory record, read before zipfile parses the
    whole directory (so a zip claiming millions of entries is refused cheaply); None if unknown.
    """
    tail_len = min(size, 22 + 65535)
    data.seek(size - tail_len)
    tail = data.read(tail_len)
    data.seek(0)
    pos = tail.rfind(b"PK\x05\x06")
    if pos < 0 or len(tail) - pos < 22:
        return None
    entries = int(struct.unpack_from("<H", tail, pos + 10)[0])
    return None if entries == 0xFFFF else entries  # 0xFFFF: zip64, zipfile reads the real count


def _open_zip(data: BinaryIO, size: int) -> zipfile.ZipFile:
    data.seek(0)
    head = data.read(4)
    data.seek(0)
    try:
        return zipfile.ZipFile(data)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        looks_like_zip = head in (b"PK\x03\x04", b"PK\x05\x06") or (
            _declared_entry_count(data, size) is not None
        )
        if not looks_like_zip:
            raise UnsupportedMediaType(
                "Berkas yang diunggah bukan arsip ZIP. Paket SCORM harus berupa berkas .zip.",
                code="scorm_not_zip",
            ) from exc
        raise _invalid(
            f"Arsip ZIP rusak dan tidak dapat dibaca ({exc}). Buat ulang paketnya lalu unggah lagi.",
            "scorm_corrupt_zip",
        ) from exc


def _check_name(info: zipfile.ZipInfo) -> str:
    """The entry's path if it is safe to use as a relative path inside the package."""
    raw = info.orig_filename
    if "\x00" in raw:
        raise _invalid(
            f"Nama berkas {raw!r} di dalam paket mengandung karakter NUL; paket ditolak.",
            "scorm_nul_in_name",
        )
    name = info.filename
    if name.startswith(("/", "\\")) or _DRIVE_RE.match(name):
        raise _invalid(
            f"Berkas '{name}' di dalam paket memakai path absolut; paket ditolak.",
            "scorm_absolute_path",
        )
    if "\\" in name:
        raise _invalid(
            f"Nama berkas '{name}' di dalam paket memakai garis miring terbalik (\\). "
            "Buat ulang ZIP dengan alat yang memakai '/' sebagai pemisah folder.",
            "scorm_backslash_path",
        )
    parts = name.rstrip("/").split("/")
    if ".." in parts:
        raise _invalid(
            f"Berkas '{name}' di dalam paket menunjuk ke luar folder paket (zip-slip); "
            "paket ditolak.",
            "scorm_zip_slip",
        )
    if any(part in ("", ".") for part in parts):
        raise _invalid(
            f"Nama berkas '{name}' di dalam paket tidak valid (bagian path kosong atau '.').",
            "scorm_invalid_path",
        )
    if len(name) > MAX_PATH_CHARS:
        raise _invalid(
            f"Nama berkas '{name[:80]}…' di dalam paket lebih dari {MAX_PATH_CHARS} karakter.",
            "scorm_path_too_long",
        )
    return name


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _check_entries(zf: zipfile.ZipFile, settings: Settings) -> list[zipfile.ZipInfo]:
    """Every central-directory check; returns the file (non-directory) entries in zip order."""
    infos = zf.infolist()
    if len(infos) > settings.scorm_max_files:
        raise _too_many_files(len(infos), settings.scorm_max_files)
    seen: set[str] = set()
    files: list[zipfile.ZipInfo] = []
    total = 0
    total_compressed = 0
    for info in infos:
        name = _check_name(info)
        if info.flag_bits & 0x1:
            raise _invalid(
                f"Berkas '{name}' di dalam paket terenkripsi (memakai kata sandi); "
                "unggah paket tanpa kata sandi.",
                "scorm_encrypted_entry",
            )
        if _is_symlink(info):
            raise _invalid(
                f"Berkas '{name}' di dalam paket adalah tautan simbolik (symlink); paket ditolak.",
                "scorm_symlink",
            )
        if name in seen:
            raise _invalid(
                f"Berkas '{name}' muncul lebih dari sekali di dalam paket; paket ditolak.",
                "scorm_duplicate_entry",
            )
        seen.add(name)
        if info.is_dir():
            continue
        if info.compress_type not in _SUPPORTED_COMPRESSION:
            raise _invalid(
                f"Berkas '{name}' di dalam paket memakai metode kompresi yang tidak didukung "
                f"({info.compress_type}); buat ulang ZIP dengan kompresi standar (deflate).",
                "scorm_unsupported_compression",
            )
        if (
            info.file_size > RATIO_MIN_ENTRY_BYTES
            and info.file_size > settings.scorm_max_compression_ratio * max(info.compress_size, 1)
        ):
            ratio = info.file_size // max(info.compress_size, 1)
            raise _invalid(
                f"Berkas '{name}' di dalam paket terkompresi {ratio:,}:1, melebihi batas "
                f"{settings.scorm_max_compression_ratio}:1 (ciri zip bomb); paket ditolak.",
                "scorm_compression_ratio",
            )
        total += info.file_size
        total_compressed += info.compress_size
        files.append(info)
    if total > settings.scorm_max_unpacked_bytes:
        raise _too_large(
            f"Isi paket setelah diekstrak berukuran {total:,} byte, melebihi batas "
            f"{settings.scorm_max_unpacked_bytes:,} byte.",
            "scorm_unpacked_too_large",
            max_bytes=settings.scorm_max_unpacked_bytes,
        )
    if total > RATIO_MIN_ENTRY_BYTES and total > settings.scorm_max_compression_ratio * max(
        total_compressed, 1
    ):
        raise _invalid(
            f"Paket terkompresi {total // max(total_compressed, 1):,}:1 secara keseluruhan, "
            f"melebihi batas {settings.scorm_max_compression_ratio}:1 (ciri zip bomb); "
            "paket ditolak.",
            "scorm_compression_ratio",
        )
    return files


def _too_many_files(count: int, limit: int) -> PayloadTooLarge:
    return _too_large(
        f"Paket berisi {count:,} berkas, melebihi batas {limit:,} berkas.",
        "scorm_too_many_files",
        max_files=limit,
    )


# --------------------------------------------------------------------------- manifest


def _local(tag: object) -> str:
    """Element or attribute name without its namespace: manifests use many prefixes, or none."""
    name = tag if isinstance(tag, str) else ""
    return name.rsplit("}", 1)[-1]


def _namespace(tag: object) -> str:
    name = tag if isinstance(tag, str) else ""
    return name[1:].split("}", 1)[0] if name.startswith("{") else ""


def _children(element: Element, name: str) -> list[Element]:
    return [child for child in element if _local(child.tag) == name]


def _child(element: Element, name: str) -> Element | None:
    found = _children(element, name)
    return found[0] if found else None


def _child_text(element: Element, name: str) -> str | None:
    child = _child(element, name)
    if child is None or child.text is None:
        return None
    return child.text.strip() or None


def _attr(element: Element, name: str) -> str | None:
    """Attribute by local name, case-insensitive (`adlcp:scormtype`, `scormType`, no prefix)."""
    wanted = name.lower()
    for key, value in element.attrib.items():
        if _local(key).lower() == wanted and not key.startswith(_XML_NS):
            return value.strip()
    return None


def _read_manifest(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    if info.file_size > MAX_MANIFEST_BYTES:
        raise _too_large(
            f"imsmanifest.xml berukuran {info.file_size:,} byte, melebihi batas "
            f"{MAX_MANIFEST_BYTES:,} byte.",
            "scorm_manifest_too_large",
        )
    try:
        with zf.open(info) as src:
            return _read_capped(src, info.file_size, MANIFEST_NAME)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise _corrupt_entry(MANIFEST_NAME, exc) from exc


def _read_capped(src: IO[bytes], limit: int, name: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := src.read(_READ_CHUNK):
        size += len(chunk)
        if size > limit:
            raise _size_mismatch(name)
        chunks.append(chunk)
    return b"".join(chunks)


def _find_manifest(files: list[zipfile.ZipInfo]) -> zipfile.ZipInfo:
    for info in files:
        if info.filename == MANIFEST_NAME:
            return info
    nested = sorted(
        (info.filename for info in files if posixpath.basename(info.filename) == MANIFEST_NAME),
        key=lambda path: (path.count("/"), path),
    )
    if nested:
        folder = posixpath.dirname(nested[0]) + "/"
        raise _invalid(
            f"imsmanifest.xml tidak ada di akar (root) ZIP: manifest berada di folder "
            f"'{folder}'. Zip isi folder tersebut, bukan foldernya.",
            "scorm_manifest_in_subfolder",
        )
    raise _invalid(
        "Paket tidak memiliki imsmanifest.xml di akar (root) ZIP, jadi bukan paket SCORM. "
        "Ekspor ulang kursus sebagai paket SCORM 1.2.",
        "scorm_no_manifest",
    )


def _parse_manifest(raw: bytes) -> Element:
    try:
        root = SafeET.fromstring(raw)
    except defusedxml.DefusedXmlException as exc:
        raise _invalid(
            "imsmanifest.xml memuat deklarasi DTD/entitas XML yang tidak diizinkan "
            "(risiko XXE atau 'billion laughs'); paket ditolak.",
            "scorm_manifest_unsafe_xml",
        ) from exc
    except ParseError as exc:
        if _ELEMENT_START_RE.search(_XML_NOISE_RE.sub(b"", raw)) is None:
            raise _no_manifest_element() from exc
        raise _invalid(
            f"imsmanifest.xml bukan XML yang valid ({exc}); perbaiki atau ekspor ulang paketnya.",
            "scorm_manifest_malformed",
        ) from exc
    if _local(root.tag) != "manifest":
        raise _no_manifest_element()
    return root


def _no_manifest_element() -> ValidationFailed:
    return _invalid(
        "imsmanifest.xml tidak berisi elemen <manifest>: paket tidak memuat organisasi "
        "maupun resource yang dapat dipakai.",
        "scorm_no_manifest_element",
    )


def _check_not_scorm2004(root: Element) -> None:
    metadata = _child(root, "metadata")
    version = _child_text(metadata, "schemaversion") if metadata is not None else None
    is_2004 = bool(version and _SCORM2004_VERSION_RE.search(version))
    if not is_2004:
        for element in root.iter():
            names = [element.tag, *element.attrib.keys()]
            if any(_namespace(name) in _SCORM2004_NAMESPACES for name in names):
                is_2004 = True
                break
    if is_2004:
        label = f" ({version})" if version else ""
        raise _invalid(
            f"Paket ini SCORM 2004{label}; SCORM 2004 belum didukung. Ekspor ulang paket "
            "sebagai SCORM 1.2 dari aplikasi pembuatnya.",
            "scorm_2004_unsupported",
        )


def _base(element: Element) -> str:
    return (element.get(f"{_XML_NS}base") or "").strip()


def _is_external(href: str) -> bool:
    parts = urlsplit(href)
    return bool(parts.scheme or parts.netloc) or href.startswith(("/", "\\"))


def _resolve_href(bases: list[str], href: str) -> str | None:
    """`href` joined to its xml:base chain as a path inside the package (query and fragment
    kept); None for an external URL. Refuses a path that climbs out of the package.
    """
    href = href.strip()
    if not href:
        return None
    prefix = ""
    for base in bases:
        if not base:
            continue
        if _is_external(base):
            return None
        prefix = prefix + (base if base.endswith("/") else base + "/")
    if _is_external(href):
        return None
    parts = urlsplit(prefix + href)
    path = posixpath.normpath(parts.path) if parts.path else ""
    if path in ("", ".") or path == ".." or path.startswith("../"):
        raise _invalid(
            f"imsmanifest.xml menunjuk ke '{prefix + href}' di luar folder paket; paket ditolak.",
            "scorm_href_outside",
        )
    resolved = path
    if parts.query:
        resolved += "?" + parts.query
    if parts.fragment:
        resolved += "#" + parts.fragment
    return resolved


def _with_parameters(href: str, parameters: str | None) -> str:
    """IMS CP / SCORM 1.2 rule for joining an item's `parameters` to its resource href."""
    if not parameters:
        return href
    params = parameters.strip().lstrip("?&")
    if not params:
        return href
    if params.startswith("#"):
        return href if "#" in href else href + params
    return href + ("&" if "?" in href else "?") + params


def _parse_float(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


def _parse_resources(root: Element) -> dict[str, ScormResource]:
    resources: dict[str, ScormResource] = {}
    container = _child(root, "resources")
    if container is None:
        return resources
    bases = [_base(root), _base(container)]
    for element in _children(container, "resource"):
        identifier = (element.get("identifier") or "").strip()
        if not identifier or identifier in resources:
            continue
        own = [*bases, _base(element)]
        href_attr = element.get("href")
        files = tuple(
            resolved
            for file in _children(element, "file")
            if (resolved := _resolve_href(own, file.get("href") or "")) is not None
        )
        dependencies = tuple(
            ref
            for dep in _children(element, "dependency")
            if (ref := (dep.get("identifierref") or "").strip())
        )
        scorm_type = (_attr(element, "scormtype") or "").lower() or None
        resources[identifier] = ScormResource(
            identifier=identifier,
            type=(element.get("type") or "").strip(),
            scorm_type=scorm_type,
            href=_resolve_href(own, href_attr) if href_attr else None,
            files=files,
            dependencies=dependencies,
        )
    return resources


def _default_organization(root: Element) -> Element | None:
    container = _child(root, "organizations")
    if container is None:
        return None
    organizations = _children(container, "organization")
    default = (container.get("default") or "").strip()
    for organization in organizations:
        if default and organization.get("identifier") == default:
            return organization
    return organizations[0] if organizations else None


def _flatten_items(
    parent: Element, resources: dict[str, ScormResource], depth: int = 0
) -> Iterator[ScormItem]:
    for element in _children(parent, "item"):
        ref = (element.get("identifierref") or "").strip() or None
        resource = resources.get(ref) if ref else None
        parameters = (element.get("parameters") or "").strip() or None
        launch = (
            _with_parameters(resource.href, parameters)
            if resource is not None and resource.href
            else None
        )
        yield ScormItem(
            identifier=(element.get("identifier") or "").strip(),
            title=_child_text(element, "title") or "",
            depth=depth,
            resource_identifier=ref,
            scorm_type=resource.scorm_type if resource is not None else None,
            launch_href=launch,
            parameters=parameters,
            mastery_score=_parse_float(_child_text(element, "masteryscore")),
            data_from_lms=_child_text(element, "datafromlms"),
            is_visible=(element.get("isvisible") or "true").strip().lower() != "false",
        )
        yield from _flatten_items(element, resources, depth + 1)


def _metadata_title(root: Element) -> str | None:
    """LOM general/title (imsmd 1.2 `langstring` or LOM `string`), when a package has one."""
    metadata = _child(root, "metadata")
    if metadata is None:
        return None
    for general in metadata.iter():
        if _local(general.tag) != "general":
            continue
        title = _child(general, "title")
        if title is None:
            continue
        for text_element in title.iter():
            if _local(text_element.tag) in ("langstring", "string") and text_element.text:
                return text_element.text.strip() or None
    return None


def _choose_launch(
    items: list[ScormItem], resources: dict[str, ScormResource]
) -> tuple[str, ScormItem | None]:
    """Launch rule: the first SCO item; else the first asset item; else, when the organization
    gives nothing to launch (Moodle's `singlescobasic_missingorg.zip` has no organization at
    all), the first SCO resource with an href, then the first resource with an href.
    """
    for wanted in ("sco", None):
        for item in items:
            if item.launch_href and (wanted is None or item.scorm_type == wanted):
                return item.launch_href, item
    for wanted in ("sco", None):
        for resource in resources.values():
            if resource.href and (wanted is None or resource.scorm_type == wanted):
                return resource.href, None
    raise _invalid(
        "imsmanifest.xml tidak memuat organisasi maupun resource yang dapat dijalankan "
        "(tidak ada item atau resource dengan href).",
        "scorm_nothing_to_launch",
    )


def _launch_path(href: str) -> str:
    """The file a launch href names: query and fragment dropped, %-escapes decoded."""
    return unquote(urlsplit(href).path)


# --------------------------------------------------------------------------- public API


def inspect_package(data: BinaryIO, settings: Settings | None = None) -> PackageInfo:
    """Check a SCORM 1.2 zip without unpacking it and read its manifest; raises a domain error
    (ValidationFailed/PayloadTooLarge/UnsupportedMediaType with a `scorm_*` code) otherwise.
    """
    settings = settings or get_settings()
    size, sha256 = _archive_size_and_hash(data, settings.max_scorm_bytes)
    declared = _declared_entry_count(data, size)
    if declared is not None and declared > settings.scorm_max_files:
        raise _too_many_files(declared, settings.scorm_max_files)
    with _open_zip(data, size) as zf:
        files = _check_entries(zf, settings)
        manifest = _find_manifest(files)
        root = _parse_manifest(_read_manifest(zf, manifest))
    _check_not_scorm2004(root)

    resources = _parse_resources(root)
    organization = _default_organization(root)
    items = list(_flatten_items(organization, resources)) if organization is not None else []
    launch_href, launch_item = _choose_launch(items, resources)
    names = {info.filename for info in files}
    if _launch_path(launch_href) not in names:
        raise _invalid(
            f"Berkas peluncuran '{launch_href}' yang disebut imsmanifest.xml tidak ada di "
            "dalam paket.",
            "scorm_launch_missing",
        )
    if len(launch_href) > MAX_PATH_CHARS:
        raise _invalid(
            f"Alamat peluncuran paket lebih dari {MAX_PATH_CHARS} karakter.", "scorm_path_too_long"
        )

    identifier = (root.get("identifier") or "").strip()
    org_title = _child_text(organization, "title") if organization is not None else None
    first_item_title = next((item.title for item in items if item.title), None)
    title = (org_title or first_item_title or _metadata_title(root) or identifier or "Paket SCORM")[
        :255
    ]
    entries = tuple((info.filename, info.file_size) for info in files)
    return PackageInfo(
        version="1.2",
        identifier=identifier,
        title=title,
        launch_href=launch_href,
        launch_item=launch_item.identifier if launch_item is not None else None,
        mastery_score=launch_item.mastery_score if launch_item is not None else None,
        launch_data=launch_item.data_from_lms if launch_item is not None else None,
        items=tuple(items),
        resources=tuple(resources.values()),
        entries=entries,
        sha256=sha256,
        archive_size=size,
        total_size=sum(entry_size for _, entry_size in entries),
    )


def content_type_for(path: str) -> str:
    """Content type served for a package file, from its extension."""
    ext = posixpath.splitext(path)[1].lower()
    if ext in _CONTENT_TYPES:
        return _CONTENT_TYPES[ext]
    guessed, _encoding = mimetypes.guess_type(path, strict=False)
    return guessed or _DEFAULT_CONTENT_TYPE


class _CappedReader:
    """Passes through at most `limit` bytes of an entry; a zip whose header under-declares the
    size gets an error instead of extra bytes.
    """

    def __init__(self, src: Any, limit: int, name: str) -> None:
        self._src = src
        self._left = limit
        self._name = name

    def read(self, size: int = -1, /) -> bytes:
        want = _READ_CHUNK if size is None or size < 0 else size
        chunk: bytes = self._src.read(want)
        if len(chunk) > self._left:
            raise _size_mismatch(self._name)
        self._left -= len(chunk)
        return chunk


def _size_mismatch(name: str) -> ValidationFailed:
    return _invalid(
        f"Berkas '{name}' di dalam paket lebih besar daripada ukuran yang tercatat di ZIP; "
        "paket ditolak.",
        "scorm_size_mismatch",
    )


def _corrupt_entry(name: str, exc: BaseException) -> ValidationFailed:
    return _invalid(
        f"Berkas '{name}' di dalam paket rusak ({exc}); buat ulang paketnya lalu unggah lagi.",
        "scorm_corrupt_entry",
    )


def unpack(
    data: BinaryIO, storage: Storage, *, prefix: str, settings: Settings | None = None
) -> list[UnpackedFile]:
    """Stream every file of a checked package into storage under fresh keys (`prefix/...`).

    Keys never come from entry names; the path is returned beside its key. Each entry is capped
    at its declared size (the CRC is checked too). On any failure every object already written
    is deleted and the error re-raised, so nothing is left behind.
    """
    settings = settings or get_settings()
    size = data.seek(0, 2)
    written: list[UnpackedFile] = []
    keys: list[str] = []  # every key tried, so a half-written object is removed too
    try:
        with _open_zip(data, size) as zf:
            files = _check_entries(zf, settings)  # never trust that inspect_package ran
            total = 0
            for info in files:
                name = info.filename
                key = storage.new_key(prefix)
                keys.append(key)
                content_type = content_type_for(name)
                try:
                    with zf.open(info) as src:
                        stored = storage.put(
                            key,
                            _CappedReader(src, info.file_size, name),
                            content_type=content_type,
                            max_bytes=info.file_size,
                        )
                except PayloadTooLarge as exc:
                    raise _size_mismatch(name) from exc
                except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
                    raise _corrupt_entry(name, exc) from exc
                except RuntimeError as exc:  # zipfile: "File is encrypted, password required"
                    raise _corrupt_entry(name, exc) from exc
                written.append(
                    UnpackedFile(name, stored.key, stored.size, content_type, stored.sha256)
                )
                total += stored.size
                if total > settings.scorm_max_unpacked_bytes:
                    raise _too_large(
                        "Isi paket setelah diekstrak melebihi batas "
                        f"{settings.scorm_max_unpacked_bytes:,} byte.",
                        "scorm_unpacked_too_large",
                        max_bytes=settings.scorm_max_unpacked_bytes,
                    )
    except BaseException:
        for key in keys:
            with contextlib.suppress(Exception):
                storage.delete(key)
        raise
    return written
