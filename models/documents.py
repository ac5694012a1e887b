"""Documents that workers render in the background (PDFs, spreadsheets)."""

from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.accounts import User
from models.activities import Activity
from models.enums import DocumentKind, DocumentStatus
from models.fields import UtcDatetimeField


class Document(Model):
    """A rendering request: its scope, its state from QUEUED to READY or FAILED, and the file.
    `fingerprint` digests the inputs: asking again for unchanged inputs returns this row."""

    id = fields.BigIntField(primary_key=True)
    kind = fields.CharEnumField(DocumentKind, max_length=24)
    status = fields.CharEnumField(DocumentStatus, max_length=12, default=DocumentStatus.QUEUED)
    progress = fields.SmallIntField(default=0, db_default=0)
    requester: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    activity: fields.ForeignKeyNullableRelation[Activity] = fields.ForeignKeyField(
        "models.Activity", related_name=False, null=True, on_delete=fields.CASCADE
    )
    fingerprint = fields.CharField(max_length=64)
    parameters: dict[str, Any] = fields.JSONField(default=dict)
    file = fields.CharField(max_length=200, null=True)
    filename = fields.CharField(max_length=200)
    content_type = fields.CharField(max_length=100)
    size = fields.IntField(null=True)
    checksum = fields.CharField(max_length=64, null=True)
    error = fields.TextField(null=True)
    attempts = fields.SmallIntField(default=0, db_default=0)
    expires_at = UtcDatetimeField(null=True)
    created_at = UtcDatetimeField(auto_now_add=True)
    updated_at = UtcDatetimeField(auto_now=True)

    activity_id: int | None
    requester_id: int | None

    class Meta:
        table = "documents"
        indexes = [
            Index(fields=["kind", "fingerprint"], name="documents_inputs"),
            Index(fields=["status", "updated_at"], name="documents_waiting"),
        ]


class DocumentReader(Model):
    """Someone who asked for a document that was already queued, running or ready (the same
    inputs): they passed the same permission check as its requester, and may follow it too."""

    id = fields.BigIntField(primary_key=True)
    document: fields.ForeignKeyRelation[Document] = fields.ForeignKeyField(
        "models.Document", related_name=False, on_delete=fields.CASCADE
    )
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, on_delete=fields.CASCADE
    )
    created_at = UtcDatetimeField(auto_now_add=True)

    document_id: int
    user_id: int

    class Meta:
        table = "document_readers"
        unique_together = (("document", "user"),)
