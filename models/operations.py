"""The operations clients may send by id (persisted documents), registered from the client
contract by `kepuri register-operations`."""

from tortoise import fields
from tortoise.models import Model

from models.fields import UtcDatetimeField


class PersistedDocument(Model):
    """A GraphQL document registered under its id, "sha256:" and the hex SHA-256 of its text
    (the GraphQL-over-HTTP draft's prefixed document id). Its text never changes."""

    id = fields.CharField(max_length=71, primary_key=True)
    body = fields.TextField()
    operation_name = fields.CharField(max_length=100, null=True)
    registered_at = UtcDatetimeField(auto_now_add=True)

    class Meta:
        table = "persisted_documents"
