"""The GraphQL types of documents: outputs, inputs and payloads.

Its resolvers are in resolvers/documents.py."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from models import Document
from models.enums import DocumentKind, DocumentStatus
from schema.context import Context
from schema.ids import to_global_id
from schema.node import Node
from schema.types import Error
from services import documents
from services.errors import DocumentErrorCode

for _enum in (DocumentKind, DocumentStatus):
    strawberry.enum(_enum)


@strawberry.type(
    name="DocumentError",
    description="A refusal of a mutation on documents: "
    "the input it concerns, why (in Chinese), and a code.",
)
class DocumentError(Error[DocumentErrorCode]):
    pass


@strawberry.type(name="Document", description="A document a worker renders (PDF, spreadsheet).")
class DocumentType(Node):
    kind: DocumentKind
    status: DocumentStatus
    progress: int
    expires_at: datetime | None
    error: str | None

    @strawberry.field
    def id(self, root: strawberry.Parent[Document]) -> strawberry.ID:
        return strawberry.ID(to_global_id("Document", root.id))

    @strawberry.field(description="A signed link, valid for an hour, once the document is READY.")
    def download_url(
        self, root: strawberry.Parent[Document], info: Info[Context, None]
    ) -> str | None:
        if root.status is not DocumentStatus.READY:
            return None
        settings = info.context.runtime.settings
        return documents.signed_link(settings.public_base_url, settings.secret_key, root)


@strawberry.input
class SummaryReportInput:
    year: int
    organization_id: strawberry.ID | None = None
    region_code: str | None = None
    national: bool | None = None


@strawberry.type
class DocumentPayload:
    document: DocumentType | None = None
    errors: list[DocumentError] = strawberry.field(default_factory=list)
