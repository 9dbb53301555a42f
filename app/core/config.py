"""Settings for the whole LMS, read from `LMS_` environment variables (and `.env`).

Every rule number that LAN or the agency may change lives here, never as a literal in code.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_KEY = "dev-insecure-secret-key-change-me"  # noqa: S105 - the sentinel we refuse in production


class OidcProvider(BaseModel):
    """One OpenID Connect identity provider (LMS_OIDC_PROVIDERS is a JSON list of these)."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")  # in /login/sso/{name}
    label: str = "SSO"  # the login button reads "Masuk dengan {label}"
    discovery_url: str  # .../.well-known/openid-configuration
    client_id: str
    client_secret: str | None = None
    scopes: str = "openid profile email"
    nip_claim: str = "nip"  # the claim that carries the 18-digit NIP
    auto_provision: bool = False  # unknown NIP: create the account instead of refusing
    opd_claim: str | None = None  # claim naming the OPD code of an auto-provisioned account
    local_password: bool = True  # False: users who signed in here may no longer use a password
    timeout_seconds: float = Field(default=10, gt=0)


class Settings(BaseSettings):
    """All configuration; see README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="LMS_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///./var/lms.db"
    storage_url: str = "file://./var/objects"
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_presign_seconds: int = Field(default=300, ge=10, le=7 * 24 * 3600)
    secret_key: str = DEV_SECRET_KEY
    base_url: str = "http://127.0.0.1:8000"
    # Where SCORM packages run (app/courses/content_origin.py): another HOST NAME than base_url's
    # (cookies are shared across ports). Unset: 127.0.0.1 <-> localhost, port + 1.
    content_origin: str | None = None
    content_link_minutes: int = Field(default=240, ge=5, le=24 * 60)
    institution_name: str = "BKPSDM Kabupaten Contoh"
    default_locale: Literal["id", "en"] = "id"
    # Institution time zone (IANA): every date and time shown or typed uses it; stored UTC.
    timezone: str = "Asia/Jakarta"

    # Browser sessions.
    session_idle_minutes: int = Field(default=60, ge=1)
    session_absolute_hours: int = Field(default=12, ge=1)
    api_token_minutes: int = Field(default=60, ge=1)

    # Login throttling (per account and per client address), counted in the database.
    login_window_seconds: int = Field(default=900, ge=1)
    login_max_failures_per_account: int = Field(default=5, ge=1)
    login_max_failures_per_address: int = Field(default=30, ge=1)
    trust_forwarded_for: bool = False
    # An idle keep-alive connection is closed after this many seconds (`lms serve`). Longer than
    # the player's 30 s between heartbeats, so a learner's reports reuse one connection (no new
    # TCP, and TLS at the proxy, per heartbeat) and a request rarely races the server closing the
    # connection it was sent on. Behind a proxy, keep the proxy's upstream keep-alive shorter.
    keep_alive_seconds: int = Field(default=65, ge=1, le=3600)

    # Passwords (argon2id cost; lower it only for tests).
    password_min_length: int = Field(default=10, ge=8)
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65536, ge=1024)

    # Uploads: size caps per activity kind (413 above them).
    max_roster_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    max_video_bytes: int = Field(default=2 * 1024**3, ge=1024)
    max_document_bytes: int = Field(default=100 * 1024**2, ge=1024)
    max_other_bytes: int = Field(default=50 * 1024**2, ge=1024)
    max_scorm_bytes: int = Field(default=500 * 1024**2, ge=1024)
    upload_part_bytes: int = Field(default=8 * 1024**2, ge=5 * 1024**2)
    upload_session_hours: int = Field(default=48, ge=1)

    # SCORM archives: checked before anything is unpacked.
    scorm_max_files: int = Field(default=5000, ge=1)
    scorm_max_unpacked_bytes: int = Field(default=1024**3, ge=1024)
    scorm_max_compression_ratio: int = Field(default=100, ge=2)
    scorm_max_suspend_data_chars: int = Field(default=256 * 1024, ge=4096)

    # LAN / agency rules (defaults; later issues read them).
    minutes_per_jp: int = Field(default=45, ge=1)
    annual_jp_target: int = Field(default=20, ge=0)
    participation_target_percent: int = Field(default=90, ge=0, le=100)
    video_completion_share: float = Field(default=0.9, gt=0, le=1)
    heartbeat_slack_seconds: float = Field(default=5.0, ge=0)

    # Database pool per process: at most pool-size requests use the database at once, the others
    # wait their turn (without a thread); the overflow serves work outside requests.
    db_pool_size: int = Field(default=10, ge=1, le=500)
    db_max_overflow: int = Field(default=20, ge=0, le=500)

    # Quizzes: answers arriving this long after the deadline still count (network delay);
    # a sweep every `quiz_sweep_seconds` grades attempts left open past it (0: only lazily).
    quiz_grace_seconds: int = Field(default=30, ge=0, le=600)
    quiz_sweep_seconds: int = Field(default=60, ge=0)

    # Time on task: a heartbeat credits the real time since the previous one, unless the gap is
    # longer than this (the learner was idle) — then it credits nothing.
    idle_gap_seconds: int = Field(default=300, ge=30)

    # JP ledger (LAN rules; configurable). PPPK: at most this many JP count per contract year.
    pppk_annual_jp_cap: int = Field(default=24, ge=0)
    jp_rounding: Literal["floor", "half_up", "none"] = "floor"  # minutes -> JP

    # Certification defaults for every course; a course's own rules override each one.
    cert_pass_score: float = Field(default=70, ge=0, le=100)
    # Predikat bands: (score above which, label), highest first; below all: cert_predikat_lowest.
    cert_predikat_bands: list[tuple[float, str]] = [
        (90, "Sangat Memuaskan"),
        (80, "Memuaskan"),
        (70, "Cukup Memuaskan"),
        (60, "Kurang Memuaskan"),
    ]
    cert_predikat_lowest: str = "Tidak Memuaskan"
    cert_score_formula: Literal["posttest", "weighted"] = "posttest"
    cert_weights: dict[str, float] = {"posttest": 100}
    cert_require_posttest: bool = True
    cert_min_learning_minutes: int = Field(default=0, ge=0)
    # Minimum attendance of a run's live sessions, in percent (0: rule off).
    cert_min_attendance_percent: float = Field(default=0, ge=0, le=100)
    cert_require_survey: bool = False
    cert_require_rtl: bool = False
    cert_require_profile: bool = False
    cert_auto_issue: bool = True
    cert_validity_years: int = Field(default=0, ge=0, le=50)
    cert_curriculum_page: bool = True
    cert_number_template: str = "{seq:04d}/{course_code}/BKPSDM/{month_roman}/{year}"
    cert_place: str = "Kabupaten Contoh"
    # The signature block (name, NIP, jabatan); demo values: set the real signer's. A certificate
    # template may name its own signer (studio, template editor).
    cert_signer_name: str = "Dr. Hendra Wijaya, S.Sos., M.Si."
    cert_signer_nip: str | None = "197503122000031002"
    cert_signer_jabatan: str = "Kepala Badan Kepegawaian dan Pengembangan Sumber Daya Manusia"

    # Signing keys: `lms keys init` makes a local CA, a PKCS#12 signing certificate and an
    # Ed25519 credential key in keys_dir; production points these at the agency's own.
    keys_dir: str = "./var/keys"
    signing_pkcs12_path: str | None = None  # default: keys_dir/signing.p12
    signing_pkcs12_password: str | None = None
    credential_key_path: str | None = None  # default: keys_dir/credential-ed25519.pem

    # Certificate PDFs (H3): template background caps and bulk rendering workers (0: one per core).
    cert_background_max_bytes: int = Field(default=5 * 1024 * 1024, ge=64 * 1024)
    cert_background_max_pixels: int = Field(default=3508 * 2480, ge=600 * 400)
    cert_pdf_workers: int = Field(default=0, ge=0, le=64)

    # Background jobs (huey): sqlite:///path (embedded default), redis://host:port/db, or
    # "immediate" (run in the calling process; tests).
    jobs_url: str = "sqlite:///./var/jobs.db"
    jobs_in_process_worker: bool = True  # start a worker thread in the web process

    # Public verification endpoints: requests per client address per minute.
    verify_rate_per_minute: int = Field(default=30, ge=1)

    # Request rate limits (app/web/ratelimit.py, the `limits` library): "N/second|minute|hour|day",
    # several joined by ";". Counted in memory:// (per process) or redis://host:port/db (shared).
    rate_limit_enabled: bool = True
    # Resolved callers (token or session -> user and roles) are kept this many seconds per process
    # (app/auth/principals.py); changes take effect at once in this process and through the
    # invalidation feed (app/core/invalidation.py) in the others. 0: every request reads the
    # database.
    principal_cache_seconds: float = Field(default=300.0, ge=0, le=3600)
    # Read-mostly answers (a course's content for learners, app/core/readcache.py) are kept this
    # many seconds per process; a change clears them at once here and through the feed elsewhere.
    # 0: off.
    read_cache_seconds: float = Field(default=60.0, ge=0, le=3600)
    # Each web process reads other processes' cache invalidations this often (seconds); while
    # the feed is late or off (0), cached entries are trusted for 5 s at most.
    cache_feed_seconds: float = Field(default=1.0, ge=0, le=60)
    rate_limit_storage_url: str = "memory://"
    rate_limit_strategy: Literal["moving-window", "fixed-window"] = "moving-window"
    rate_limit_login: str = "600/minute"  # POST /login, /api/v1/auth/token: per address
    rate_limit_login_account: str = "60/minute"  # the same, per NIP or e-mail tried
    rate_limit_sso: str = "300/minute"  # SSO start and callback, per address
    rate_limit_activation: str = "120/minute"  # activation links, letter codes: per address
    rate_limit_activation_account: str = "20/minute"  # letter codes per NIP
    rate_limit_password_reset: str = "120/minute"  # noqa: S105 - forgot/reset/change, per address
    rate_limit_password_reset_account: str = "10/minute;30/hour"  # noqa: S105 - forgot, per login
    rate_limit_api: str = "1200/minute"  # every /api/v1 request, per token (else session, address)
    rate_limit_forum_post: str = "20/minute;200/day"  # forum threads and replies, per account

    # Certificates, issuing (H2): at most this many are issued inline by one request (with
    # their PDFs); more become a background job. A job whose heartbeat is older than
    # cert_job_stale_seconds is taken over by the startup sweep / `lms certificates resume`.
    cert_sync_issue_max: int = Field(default=20, ge=0)
    cert_job_batch: int = Field(default=500, ge=1, le=10_000)
    cert_job_stale_seconds: int = Field(default=120, ge=5)

    # Competency development (issue 6). JPM = achieved / standard, %; bands (at or above which,
    # label), highest first; below all: jpm_lowest_band (DESIGN.md: >= 90 optimal, 78-<90 cukup).
    jpm_bands: list[tuple[float, str]] = [(90, "optimal"), (78, "cukup_optimal")]
    jpm_lowest_band: str = "kurang_optimal"
    competency_max_level: int = Field(default=5, ge=1, le=10)
    max_competency_import_rows: int = Field(default=200_000, ge=10)

    # Mentoring (induksi): JP per confirmed session and the most sessions a month (agency rule).
    mentoring_jp_per_session: float = Field(default=2, gt=0, le=40)
    mentoring_max_sessions_per_month: int = Field(default=2, ge=1, le=31)
    mentoring_min_session_minutes: int = Field(default=30, ge=1)

    # Live sessions (issue 16): the join link shows from this many minutes before the start; the
    # attendance QR changes every live_qr_step_seconds and is accepted for live_qr_accept_seconds;
    # a scan after start + live_late_after_minutes is "late"; a participant report counts a
    # learner present from this share of the session's length.
    live_join_opens_minutes: int = Field(default=30, ge=0, le=24 * 60)
    live_qr_step_seconds: int = Field(default=30, ge=5, le=600)
    live_qr_accept_seconds: int = Field(default=60, ge=5, le=3600)
    live_late_after_minutes: int = Field(default=15, ge=0, le=24 * 60)
    live_min_share: float = Field(default=0.75, gt=0, le=1)

    # Forums (issue 16): authors may edit their post this many minutes after posting (0: never);
    # attachments are images or PDFs, at most forum_max_attachments per post of this size each.
    forum_edit_window_minutes: int = Field(default=30, ge=0, le=7 * 24 * 60)
    forum_max_attachment_bytes: int = Field(default=10 * 1024 * 1024, ge=64 * 1024)
    forum_max_attachments: int = Field(default=5, ge=0, le=20)

    # External training: certificate uploads (PDF) and the largest JP one record may claim.
    max_evidence_bytes: int = Field(default=10 * 1024 * 1024, ge=64 * 1024)
    external_training_max_jp: float = Field(default=200, gt=0)

    # Accounts self-service (issue 12): activation links and letter codes, password resets.
    activation_days: int = Field(default=7, ge=1, le=90)
    password_reset_minutes: int = Field(default=60, ge=5, le=7 * 24 * 60)
    activation_code_length: int = Field(default=8, ge=8, le=16)

    # Single sign-on: OpenID Connect providers (JSON list, see OidcProvider and README).
    oidc_providers: list[OidcProvider] = []

    # Notifications. E-mail over SMTP: smtp://user:pass@host:port, smtps://... (TLS from the
    # start) or smtp+starttls://...; unset: e-mail is not sent (messages wait in the outbox).
    smtp_url: str | None = None
    mail_from: str = "LMS Diklat ASN <noreply@lms.example.go.id>"
    mail_reply_to: str | None = None
    smtp_timeout_seconds: float = Field(default=20, gt=0)
    # WhatsApp through the agency's HTTP gateway: POST whatsapp_url with the JSON of
    # whatsapp_template, where "{phone}" (E.164 without +: "{phone_digits}") and "{text}" in any
    # string are replaced; whatsapp_token goes in an Authorization: Bearer header.
    whatsapp_url: str | None = None
    whatsapp_token: str | None = None
    whatsapp_template: str = '{"to": "{phone_digits}", "type": "text", "text": {"body": "{text}"}}'
    whatsapp_timeout_seconds: float = Field(default=15, gt=0)
    # No WhatsApp between these local times (messages wait until the end); equal: no quiet hours.
    whatsapp_quiet_start: str = Field(default="21:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    whatsapp_quiet_end: str = Field(default="06:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    # Messages per minute and channel across every process (0: no limit).
    notify_email_per_minute: int = Field(default=30_000, ge=0)
    notify_whatsapp_per_minute: int = Field(default=60, ge=0)

    # Outbox (one for every side effect): retries with exponential backoff, then "dead".
    outbox_max_attempts: int = Field(default=10, ge=1, le=100)
    outbox_backoff_seconds: float = Field(default=30, gt=0)
    outbox_backoff_max_seconds: float = Field(default=3600, gt=0)
    outbox_batch: int = Field(default=200, ge=1, le=5000)
    outbox_lease_seconds: int = Field(default=300, ge=10)
    # Deliver right after the transaction that wrote to the outbox commits (else: next tick).
    outbox_kick: bool = True

    # SIASN (BKN) push of riwayat kursus/diklat (api-v1 "Integrations"): on when siasn_api_url
    # is set (production .../apisiasn/1.0, training .../api/1.0). The SSO token is either given
    # (siasn_sso_token) or fetched with the password grant where BKN still allows it.
    siasn_api_url: str | None = None
    siasn_token_url: str | None = None  # APIM OAuth2 token endpoint (client credentials)
    siasn_consumer_key: str | None = None
    siasn_consumer_secret: SecretStr | None = None
    siasn_sso_token: SecretStr | None = None
    siasn_sso_token_url: str | None = None
    siasn_sso_client_id: str | None = None
    siasn_sso_username: str | None = None
    siasn_sso_password: SecretStr | None = None
    siasn_instansi_id: str | None = None
    siasn_timeout_seconds: float = Field(default=60, gt=0)
    siasn_retries: int = Field(default=3, ge=0, le=10)  # per call: throttling, 5xx, network
    siasn_backoff_seconds: float = Field(default=1.0, ge=0)  # per call: base * 2^n
    siasn_pause_seconds: float = Field(default=0.0, ge=0)  # between two calls (politeness)
    siasn_concurrency: int = Field(default=1, ge=1, le=32)
    siasn_batch: int = Field(default=50, ge=1, le=1000)
    siasn_max_attempts: int = Field(default=10, ge=1, le=100)
    # A withdrawn source (revoked certificate): delete its SIASN record, or flag it (re-saved
    # with a "[DICABUT]" name) for the officer to settle with BKN.
    siasn_revocation: Literal["delete", "flag"] = "delete"
    # jenisDiklatId of a run per its delivery mode (BKN reference: 16 e-learning, 17 distance
    # learning, 13 other classroom training).
    siasn_jenis_diklat_online: int = Field(default=16, ge=1, le=25)
    siasn_jenis_diklat_blended: int = Field(default=17, ge=1, le=25)
    siasn_jenis_diklat_klasikal: int = Field(default=13, ge=1, le=25)

    # Scheduled jobs (institution time): daily run reminders, monthly below-pace reminders and
    # OPD-head digests (day of month), weekly verification digest for officers (ISO weekday).
    schedule_daily_at: str = Field(default="07:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    schedule_monthly_day: int = Field(default=1, ge=1, le=28)
    schedule_weekly_day: int = Field(default=1, ge=1, le=7)
    run_closing_reminder_days: int = Field(default=3, ge=1, le=30)

    log_level: str = "INFO"
    # /metrics (Prometheus): a Bearer token required when set, and the client networks allowed
    # ("10.0.0.0/8, 192.168.1.5"); unset: loopback only, or any address when a token is set.
    # Anyone else gets 404.
    metrics_token: str | None = None
    metrics_allow: str | None = None
    # Audit log: entries older than this many days are pruned daily (an anchor keeps the chain
    # verifiable).
    audit_retention_days: int = Field(default=1825, ge=1)
    # Personal data retention (UU 27/2022): delivered or cancelled outbox messages (their text
    # names the person) and in-app notifications are deleted after this many days, daily.
    outbox_retention_days: int = Field(default=90, ge=1)
    notification_retention_days: int = Field(default=365, ge=1)

    # BSrE TTE (issue 17): the agency's Esign Client Service (integrations/bsre.md). Unset URL:
    # BSrE batch signing is off and the local PKCS#12 signer stays the only one.
    bsre_url: str | None = None  # http://{IP Esign Client}
    bsre_username: str | None = None  # the API user made in the Esign Client admin UI
    bsre_password: SecretStr | None = None
    bsre_api_version: Literal["1", "2"] = "1"  # 1: multipart /api/sign/pdf; 2: JSON base64
    bsre_timeout_seconds: float = Field(default=60, gt=0, le=600)
    bsre_concurrency: int = Field(default=2, ge=1, le=64)  # sign requests in flight per batch
    bsre_visible: bool = False  # tampilan VISIBLE (a signature box) or INVISIBLE
    bsre_page: int = Field(default=1, ge=1)
    bsre_x: float = 60.0  # v1: from the bottom-left; v2: from the top-left (bsre.md)
    bsre_y: float = 60.0
    bsre_width: float = Field(default=100.0, gt=0)
    bsre_height: float = Field(default=100.0, gt=0)
    bsre_tag: str | None = None  # a marker text in the PDF (tag_koordinat / tag) instead of x/y
    bsre_specimen_path: str | None = None  # specimen image; unset + visible: BSrE's QR code
    bsre_reason: str = "Sertifikat pelatihan ditandatangani secara elektronik"
    # PEM file(s) with BSrE's root and intermediate certificates: returned PDFs must chain to
    # them, and the upload check (/verify) trusts them next to the institution's own CA.
    bsre_trust_pem: str | None = None

    # xAPI (issue 17): learning records to a learning record store (app.xapi). Unset endpoint:
    # nothing is queued. The endpoint ends in "/xAPI/" (POST {endpoint}statements).
    xapi_endpoint: str | None = None
    xapi_username: str | None = None
    xapi_password: SecretStr | None = None
    xapi_version: str = "1.0.3"  # the X-Experience-API-Version header
    xapi_actor: Literal["id", "nip"] = "id"  # account name: user id, or NIP (personal data)
    xapi_batch: int = Field(default=200, ge=1, le=1000)  # statements per POST
    xapi_timeout_seconds: float = Field(default=30, gt=0, le=600)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        """An IANA name the tz database knows (Asia/Jakarta, Asia/Makassar, Asia/Jayapura...)."""
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"LMS_TIMEZONE {value!r} is not an IANA time zone (e.g. Asia/Jakarta)"
            ) from None
        return value

    @field_validator(
        "rate_limit_login", "rate_limit_login_account", "rate_limit_sso", "rate_limit_activation",
        "rate_limit_activation_account", "rate_limit_password_reset",
        "rate_limit_password_reset_account", "rate_limit_api", "rate_limit_forum_post",
    )  # fmt: skip
    @classmethod
    def _rate_limit_syntax(cls, value: str) -> str:
        """"N/minute" (or second, hour, day), several joined by ";"; checked at start-up."""
        from limits import parse_many

        try:
            parse_many(value)
        except ValueError:
            raise ValueError(
                f"rate limit {value!r} is not like '30/minute' or '10/minute;100/hour'"
            ) from None
        return value

    @field_validator("metrics_allow")
    @classmethod
    def _metrics_networks(cls, value: str | None) -> str | None:
        """Comma-separated addresses or networks (CIDR), IPv4 or IPv6."""
        import ipaddress

        for part in (value or "").split(","):
            if part.strip():
                try:
                    ipaddress.ip_network(part.strip(), strict=False)
                except ValueError:
                    raise ValueError(
                        f"LMS_METRICS_ALLOW: {part.strip()!r} is not an address or network "
                        "(e.g. 10.0.0.0/8, 192.168.1.5, ::1)"
                    ) from None
        return value

    @model_validator(mode="after")
    def _content_origin(self) -> Settings:
        """LMS_CONTENT_ORIGIN as scheme://host[:port]; unset: derived from base_url."""
        explicit = "content_origin" in self.model_fields_set and bool(self.content_origin)
        self.content_origin = content_origin_for(self.base_url, self.content_origin or None)
        same_host = _host(self.content_origin) == _host(self.base_url)
        if explicit and same_host and self.environment == "production":
            raise ValueError(
                "LMS_CONTENT_ORIGIN must use another host name than LMS_BASE_URL: browsers "
                "send cookies to every port of a host"
            )
        return self

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        """Outside development and test the default secret key would let anyone forge tokens."""
        if self.environment == "production" and (
            self.secret_key == DEV_SECRET_KEY or len(self.secret_key) < 32
        ):
            raise ValueError(
                "LMS_SECRET_KEY must be set to a random value of at least 32 characters "
                "when LMS_ENVIRONMENT=production"
            )
        return self

    def absolute_url(self, path: str) -> str:
        """An address inside the LMS as the public sees it: base_url + "/path"."""
        return self.base_url.rstrip("/") + path

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def sqlite_path(self) -> Path | None:
        """The file behind a `sqlite:///path` URL, or None for other databases or memory."""
        if not self.is_sqlite:
            return None
        path = self.database_url.split(":///", 1)[1] if ":///" in self.database_url else ""
        return Path(path) if path and path != ":memory:" else None


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def content_origin_for(base_url: str, explicit: str | None) -> str:
    """The content origin, normalised: the explicit one, else base_url's host swapped between
    127.0.0.1 and localhost (any other host stays: warned by `content_origin_problem`), port + 1."""
    if explicit:
        parts = urlsplit(explicit.strip())
        try:
            port_ok = parts.port is None or parts.port > 0
        except ValueError:
            port_ok = False
        if (
            parts.scheme not in ("http", "https") or not parts.hostname or parts.username
            or parts.path not in ("", "/") or parts.query or parts.fragment or not port_ok
        ):  # fmt: skip
            raise ValueError(
                f"LMS_CONTENT_ORIGIN {explicit!r} must be like https://konten.lms.example.go.id"
            )
        return f"{parts.scheme}://{parts.netloc.lower()}"
    base = urlsplit(base_url)
    host = (base.hostname or "127.0.0.1").lower()
    port = (base.port or (443 if base.scheme == "https" else 80)) + 1
    other = {"127.0.0.1": "localhost", "localhost": "127.0.0.1"}.get(host, host)
    if ":" in other:
        other = f"[{other}]"
    return f"{base.scheme or 'http'}://{other}:{port}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
