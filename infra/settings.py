"""Settings, read once from environment variables.

Every setting has a safe development default; `Settings.check()` refuses a production start
with a default secret or with development-only switches. The README lists each variable.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

DEV_SECRET = "dev-only-insecure-secret-change-me"  # noqa: S105 (the default that production refuses)

_OFFSET = re.compile(r"^([+-])(\d+)([dhms])$")


class SettingsError(ValueError):
    """A setting has a value the service cannot run with."""


def parse_clock_offset(text: str) -> timedelta:
    """Parse `+12d`, `-3h`, `+30m`, `-10s` into a timedelta ("" is no offset)."""
    if not text:
        return timedelta(0)
    match = _OFFSET.match(text.strip())
    if not match:
        raise SettingsError(f"KEPURI_CLOCK_OFFSET must look like +12d or -3h, not {text!r}")
    sign, amount, unit = match.groups()
    unit_name = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}[unit]
    delta = timedelta(**{unit_name: int(amount)})
    return -delta if sign == "-" else delta


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    secret_key: str = DEV_SECRET
    var_dir: Path = Path("var")
    database_url: str = ""
    database_replica_url: str = ""  # a read replica of PostgreSQL for public reads (optional)
    replica_sticky_seconds: int = 10  # after a person's own write, their reads stay on the primary
    redis_url: str = ""
    # Redis through Sentinel: the sentinels (host:port) and the service they watch; REDIS_URL then
    # gives only the password and the database number, and Sentinel names the primary
    redis_sentinels: tuple[str, ...] = ()
    redis_sentinel_service: str = "kepuri"
    host: str = "127.0.0.1"
    port: int = 8000
    public_base_url: str = "http://127.0.0.1:8000"
    run_worker_in_process: bool = True
    log_level: str = "INFO"
    log_format: str = "console"
    clock_offset: timedelta = timedelta(0)
    allowed_origins: tuple[str, ...] = ()

    session_ttl: timedelta = timedelta(days=30)
    session_cache_seconds: float = 60.0  # how long a process keeps a session it read (0: never)
    password_hash_profile: str = "RFC_9106_LOW_MEMORY"  # noqa: S105
    verification_code_ttl: timedelta = timedelta(minutes=10)
    verification_code_max_attempts: int = 5

    sms_backend: str = "console"
    sms_outbox: str = ""
    sms_http_url: str = ""
    sms_http_key: str = ""
    sms_http_timeout: float = 5.0

    rate_limit_code_phone: str = "1/minute;10/day"
    rate_limit_code_address: str = "60/hour"
    rate_limit_login_phone: str = "5/15minutes"
    rate_limit_login_address: str = "100/hour"
    rate_limit_engage_account: str = "60/minute"
    rate_limit_engage_address: str = "1000/minute"
    rate_limit_device_upload: str = "30/minute"  # uploads of one check-in device
    rate_limit_member_lookup: str = "30/hour"
    rate_limit_volunteer_invite: str = "300/day"  # volunteers a unit registers by phone
    blocked_words: tuple[str, ...] = ()

    document_retry_seconds: float = 5.0
    worker_lease_seconds: float = 60.0  # a dead worker's job is taken up after this
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = "全国科普日 <noreply@kepuri.local>"
    notification_retry_seconds: float = 10.0
    webhook_allowed_hosts: tuple[str, ...] = ()
    webhook_retry_scale: float = 1.0
    review_remind_days: int = 3
    review_escalate_days: int = 7
    max_body_bytes: int = 1024 * 1024
    max_upload_bytes: int = 64 * 1024 * 1024
    media_dir_setting: str = ""
    # object storage through the S3 API instead of the media folder, when a bucket is named
    s3_bucket: str = ""
    s3_endpoint_url: str = ""  # e.g. https://cos.ap-beijing.myqcloud.com, http://minio:9000
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_region: str = "us-east-1"
    s3_path_style: bool = False  # bucket in the path (MinIO) rather than in the host name
    media_presign_seconds: int = 0  # 0: the API sends files; else presigned links this long
    booking_offer_hours: int = 12  # how long a freed place waits for the next on the list
    check_in_clock_tolerance_minutes: int = 10  # a check-in device's clock may be this far off
    # the fraud rules (services/fraud.py)
    fraud_window_minutes: int = 10  # "within a short time"
    fraud_burst_floor: int = 200  # check-ins from one source that any activity's size explains
    fraud_new_account_hours: int = 24  # an account this young is new
    fraud_new_accounts: int = 20  # new accounts checking in from one address within the window
    fraud_travel_minutes: int = 30  # check-ins far apart closer in time than this
    fraud_far_km: float = 50.0  # "far apart" (in two cities, where an activity has no place)
    fraud_cohort_minutes: int = 10  # accounts created this close together are one cohort
    fraud_cohort_size: int = 20  # a cohort's likes or ratings of one activity within the window
    image_max_pixels: int = 50_000_000
    image_max_decoded_bytes: int = 256 * 1024 * 1024
    graphql_max_depth: int = 12
    graphql_max_aliases: int = 30
    graphql_max_tokens: int = 4000
    graphql_max_cost: int = 5000  # per operation of a caller with a token (schema.cost)
    graphql_max_cost_anonymous: int = 1000
    registered_operations_only: bool = False  # only documents of `kepuri register-operations`
    persisted_query_seconds: int = 86_400  # how long an automatically persisted query is kept
    response_cache_seconds: int = 3600  # anonymous answers kept in Redis (0: none)
    response_cache_engagement_seconds: int = 5  # those showing engagement counts
    public_max_age: int = 10  # Cache-Control max-age of an anonymous query's answer to GET
    recommendation_quota_units: int = 20
    recommendation_quota_activities: int = 30
    notice_working_days: int = 3
    holidays: tuple[date, ...] = ()
    workdays: tuple[date, ...] = ()  # weekend days worked in exchange for a holiday (调休)

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite://{self.var_dir / 'kepuri.sqlite3'}"

    @property
    def media_dir(self) -> Path:
        return Path(self.media_dir_setting) if self.media_dir_setting else self.var_dir / "media"

    @property
    def embedded_redis_socket(self) -> Path:
        return self.var_dir / "redis.sock"

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    def check(self) -> None:
        """Refuse settings that are unsafe or inconsistent; called by every entry point."""
        if self.env not in {"development", "production", "test"}:
            raise SettingsError("KEPURI_ENV must be development, production or test")
        if self.sms_backend not in {"console", "http"}:
            raise SettingsError("SMS_BACKEND must be console or http")
        if self.sms_backend == "http" and not self.sms_http_url:
            raise SettingsError("SMS_BACKEND=http needs SMS_HTTP_URL")
        for sentinel in self.redis_sentinels:
            host, _, port = sentinel.rpartition(":")
            if not host or not port.isdigit():
                raise SettingsError(f"REDIS_SENTINELS: {sentinel!r} is not host:port")
        if self.s3_bucket and not (self.s3_access_key and self.s3_secret_key):
            raise SettingsError("S3_BUCKET needs S3_ACCESS_KEY and S3_SECRET_KEY")
        if self.media_presign_seconds and not self.s3_bucket:
            raise SettingsError("MEDIA_PRESIGN_SECONDS needs object storage (S3_BUCKET)")
        if not 0 <= self.media_presign_seconds <= 7 * 86_400:
            raise SettingsError("MEDIA_PRESIGN_SECONDS must lie between 0 and 604800 (a week)")
        if not self.production:
            return
        if self.secret_key == DEV_SECRET or len(self.secret_key) < 32:
            raise SettingsError(
                "production refuses the default SECRET_KEY: set SECRET_KEY to 32+ random characters"
            )
        if self.clock_offset:
            raise SettingsError("KEPURI_CLOCK_OFFSET is for development only")
        if self.password_hash_profile != "RFC_9106_LOW_MEMORY":  # noqa: S105
            raise SettingsError("production hashes passwords with the RFC_9106_LOW_MEMORY profile")
        if self.sms_backend != "http":
            raise SettingsError("production sends SMS through SMS_BACKEND=http")
        if not self.database_url or not (self.redis_url or self.redis_sentinels):
            raise SettingsError("production needs DATABASE_URL and REDIS_URL (or REDIS_SENTINELS)")


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"not a boolean: {value!r}")


# environment variable -> (field name, parser)
def _dates(value: str) -> tuple[date, ...]:
    """Dates as settings give them: `2026-10-01,2026-10-02`."""
    return tuple(date.fromisoformat(d.strip()) for d in value.split(",") if d.strip())


_ENV: dict[str, tuple[str, object]] = {
    "KEPURI_ENV": ("env", str),
    "SECRET_KEY": ("secret_key", str),
    "KEPURI_VAR_DIR": ("var_dir", Path),
    "DATABASE_URL": ("database_url", str),
    "DATABASE_REPLICA_URL": ("database_replica_url", str),
    "REPLICA_STICKY_SECONDS": ("replica_sticky_seconds", int),
    "REDIS_URL": ("redis_url", str),
    "REDIS_SENTINELS": (
        "redis_sentinels",
        lambda v: tuple(s.strip() for s in v.split(",") if s.strip()),
    ),
    "REDIS_SENTINEL_SERVICE": ("redis_sentinel_service", str),
    "HOST": ("host", str),
    "PORT": ("port", int),
    "PUBLIC_BASE_URL": ("public_base_url", str),
    "KEPURI_WORKER_IN_PROCESS": ("run_worker_in_process", _bool),
    "LOG_LEVEL": ("log_level", str),
    "LOG_FORMAT": ("log_format", str),
    "KEPURI_CLOCK_OFFSET": ("clock_offset", parse_clock_offset),
    "ALLOWED_ORIGINS": (
        "allowed_origins",
        lambda v: tuple(o.strip() for o in v.split(",") if o.strip()),
    ),
    "SESSION_TTL_DAYS": ("session_ttl", lambda v: timedelta(days=int(v))),
    "SESSION_CACHE_SECONDS": ("session_cache_seconds", float),
    "PASSWORD_HASH_PROFILE": ("password_hash_profile", str),
    "SMS_BACKEND": ("sms_backend", str),
    "SMS_OUTBOX": ("sms_outbox", str),
    "SMS_HTTP_URL": ("sms_http_url", str),
    "SMS_HTTP_KEY": ("sms_http_key", str),
    "SMS_HTTP_TIMEOUT": ("sms_http_timeout", float),
    "RATE_LIMIT_CODE_PHONE": ("rate_limit_code_phone", str),
    "RATE_LIMIT_CODE_ADDRESS": ("rate_limit_code_address", str),
    "RATE_LIMIT_LOGIN_PHONE": ("rate_limit_login_phone", str),
    "RATE_LIMIT_LOGIN_ADDRESS": ("rate_limit_login_address", str),
    "RATE_LIMIT_ENGAGE_ACCOUNT": ("rate_limit_engage_account", str),
    "RATE_LIMIT_ENGAGE_ADDRESS": ("rate_limit_engage_address", str),
    "RATE_LIMIT_MEMBER_LOOKUP": ("rate_limit_member_lookup", str),
    "RATE_LIMIT_VOLUNTEER_INVITE": ("rate_limit_volunteer_invite", str),
    "RATE_LIMIT_DEVICE_UPLOAD": ("rate_limit_device_upload", str),
    "BLOCKED_WORDS": (
        "blocked_words",
        lambda v: tuple(w.strip() for w in v.replace("，", ",").split(",") if w.strip()),
    ),
    "DOCUMENT_RETRY_SECONDS": ("document_retry_seconds", float),
    "WORKER_LEASE_SECONDS": ("worker_lease_seconds", float),
    "SMTP_HOST": ("smtp_host", str),
    "SMTP_PORT": ("smtp_port", int),
    "SMTP_USER": ("smtp_user", str),
    "SMTP_PASSWORD": ("smtp_password", str),
    "SMTP_FROM": ("smtp_from", str),
    "NOTIFICATION_RETRY_SECONDS": ("notification_retry_seconds", float),
    "WEBHOOK_ALLOWED_HOSTS": (
        "webhook_allowed_hosts",
        lambda v: tuple(h.strip() for h in v.split(",") if h.strip()),
    ),
    "REVIEW_REMIND_DAYS": ("review_remind_days", int),
    "REVIEW_ESCALATE_DAYS": ("review_escalate_days", int),
    "MAX_BODY_BYTES": ("max_body_bytes", int),
    "MAX_UPLOAD_BYTES": ("max_upload_bytes", int),
    "MEDIA_DIR": ("media_dir_setting", str),
    "S3_BUCKET": ("s3_bucket", str),
    "S3_ENDPOINT_URL": ("s3_endpoint_url", str),
    "S3_ACCESS_KEY": ("s3_access_key", str),
    "S3_SECRET_KEY": ("s3_secret_key", str),
    "S3_REGION": ("s3_region", str),
    "S3_PATH_STYLE": ("s3_path_style", _bool),
    "MEDIA_PRESIGN_SECONDS": ("media_presign_seconds", int),
    "CHECK_IN_CLOCK_TOLERANCE_MINUTES": ("check_in_clock_tolerance_minutes", int),
    "BOOKING_OFFER_HOURS": ("booking_offer_hours", int),
    "FRAUD_WINDOW_MINUTES": ("fraud_window_minutes", int),
    "FRAUD_BURST_FLOOR": ("fraud_burst_floor", int),
    "FRAUD_NEW_ACCOUNT_HOURS": ("fraud_new_account_hours", int),
    "FRAUD_NEW_ACCOUNTS": ("fraud_new_accounts", int),
    "FRAUD_TRAVEL_MINUTES": ("fraud_travel_minutes", int),
    "FRAUD_FAR_KM": ("fraud_far_km", float),
    "FRAUD_COHORT_MINUTES": ("fraud_cohort_minutes", int),
    "FRAUD_COHORT_SIZE": ("fraud_cohort_size", int),
    "IMAGE_MAX_PIXELS": ("image_max_pixels", int),
    "IMAGE_MAX_DECODED_BYTES": ("image_max_decoded_bytes", int),
    "GRAPHQL_MAX_DEPTH": ("graphql_max_depth", int),
    "GRAPHQL_MAX_ALIASES": ("graphql_max_aliases", int),
    "GRAPHQL_MAX_TOKENS": ("graphql_max_tokens", int),
    "GRAPHQL_MAX_COST": ("graphql_max_cost", int),
    "GRAPHQL_MAX_COST_ANONYMOUS": ("graphql_max_cost_anonymous", int),
    "REGISTERED_OPERATIONS_ONLY": ("registered_operations_only", _bool),
    "PERSISTED_QUERY_SECONDS": ("persisted_query_seconds", int),
    "PUBLIC_MAX_AGE": ("public_max_age", int),
    "RESPONSE_CACHE_SECONDS": ("response_cache_seconds", int),
    "RESPONSE_CACHE_ENGAGEMENT_SECONDS": ("response_cache_engagement_seconds", int),
    "RECOMMENDATION_QUOTA_UNITS": ("recommendation_quota_units", int),
    "RECOMMENDATION_QUOTA_ACTIVITIES": ("recommendation_quota_activities", int),
    "NOTICE_WORKING_DAYS": ("notice_working_days", int),
    "HOLIDAYS": ("holidays", _dates),
    "WORKDAYS": ("workdays", _dates),
}


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Build settings from the environment (or a given mapping) and check them."""
    env = dict(os.environ if environ is None else environ)
    values: dict[str, object] = {}
    for name, (attr, parse) in _ENV.items():
        raw = env.get(name)
        if raw is None or raw == "":
            continue
        try:
            values[attr] = parse(raw)  # type: ignore[operator]
        except (ValueError, SettingsError) as exc:
            raise SettingsError(f"{name}: {exc}") from exc
    if values.get("env") == "production" and "run_worker_in_process" not in values:
        values["run_worker_in_process"] = False  # production runs `kepuri worker` apart
    if "public_base_url" not in values and ("host" in values or "port" in values):
        host = values.get("host", Settings.host)
        port = values.get("port", Settings.port)
        values["public_base_url"] = f"http://{host}:{port}"
    settings = Settings(**values)  # type: ignore[arg-type]
    settings.check()
    return settings


def documented_variables() -> list[str]:
    """Names of every environment variable read here (a test keeps the README in step)."""
    return list(_ENV)


__all__ = [
    "DEV_SECRET",
    "Settings",
    "SettingsError",
    "documented_variables",
    "load_settings",
    "parse_clock_offset",
]
