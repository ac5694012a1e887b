"""People, their sessions, verification codes and the audit log."""

from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.enums import VerificationPurpose
from models.fields import UtcDatetimeField


class User(Model):
    id = fields.IntField(primary_key=True)
    phone = fields.CharField(max_length=11, unique=True)
    name = fields.CharField(max_length=50)
    email = fields.CharField(max_length=254, null=True)
    password_hash = fields.CharField(max_length=255)
    is_active = fields.BooleanField(default=True, db_default=True)
    notify_by_email = fields.BooleanField(default=True, db_default=True)
    notify_by_sms = fields.BooleanField(default=True, db_default=True)
    agreement_accepted_at = UtcDatetimeField()
    password_changed_at = UtcDatetimeField()
    created_at = UtcDatetimeField(auto_now_add=True)

    class Meta:
        table = "users"

    def __str__(self) -> str:
        return f"User({self.id}, {self.phone})"


class Session(Model):
    """A bearer token, stored only as its SHA-256 hash."""

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="sessions", on_delete=fields.CASCADE
    )
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = UtcDatetimeField(auto_now_add=True)
    expires_at = UtcDatetimeField()
    revoked_at = UtcDatetimeField(null=True)
    ip = fields.CharField(max_length=45, null=True)
    user_agent = fields.CharField(max_length=255, null=True)

    class Meta:
        table = "sessions"
        indexes = [Index(fields=["user_id", "revoked_at"], name="sessions_user_active")]


class VerificationCode(Model):
    """A 6-digit code sent by SMS, stored as an HMAC, single use, expiring, with a try counter."""

    id = fields.BigIntField(primary_key=True)
    phone = fields.CharField(max_length=11)
    purpose = fields.CharEnumField(VerificationPurpose, max_length=20)
    code_hash = fields.CharField(max_length=64)
    created_at = UtcDatetimeField(auto_now_add=True)
    expires_at = UtcDatetimeField()
    attempts = fields.IntField(default=0, db_default=0)
    used_at = UtcDatetimeField(null=True)

    class Meta:
        table = "verification_codes"
        indexes = [Index(fields=["phone", "purpose", "created_at"], name="codes_phone_purpose")]


class AuditLog(Model):
    """Who did what to which object, from where: logins, passwords, memberships, profiles."""

    id = fields.BigIntField(primary_key=True)
    actor: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    action = fields.CharField(max_length=64)
    target_type = fields.CharField(max_length=32, null=True)
    target_id = fields.CharField(max_length=64, null=True)
    data: dict[str, Any] = fields.JSONField(default=dict)
    ip = fields.CharField(max_length=45, null=True)
    created_at = UtcDatetimeField(auto_now_add=True)

    class Meta:
        table = "audit_log"
        indexes = [
            Index(fields=["target_type", "target_id"], name="audit_target"),
            Index(fields=["actor_id", "created_at"], name="audit_actor"),
        ]
