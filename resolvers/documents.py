"""Documents rendered by workers: request them, follow them, download them by a signed link."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from infra.errors import ServiceError
from models import Document
from models.enums import DocumentStatus
from resolvers.common import activity_pk, attempt, caller, signed_in
from schema.activities import ActivityFilter
from schema.context import Context
from schema.documents import (
    DocumentError,
    DocumentPayload,
    DocumentType,
    SummaryReportInput,
)
from schema.ids import parse_global_id
from schema.permissions import IsAuthenticated, bad_argument
from services import documents


@strawberry.type
class DocumentsQuery:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="A document the caller requested (national staff: any).",
    )
    async def document(self, info: Info[Context, None], id: strawberry.ID) -> DocumentType | None:
        user, grants = await signed_in(info)
        try:
            pk = parse_global_id(id, "Document")
        except ServiceError:
            return None
        document = await Document.get_or_none(id=pk)
        if document is None or not await documents.can_read(user, grants, document):
            return None
        return document  # type: ignore[return-value]


FINAL = (DocumentStatus.READY, DocumentStatus.FAILED)


@strawberry.type
class DocumentsSubscription:
    @strawberry.subscription(
        permission_classes=[IsAuthenticated],
        description="Status and progress of a document: the current state first, then every "
        "change, ending after READY or FAILED.",
    )
    async def document_status(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> AsyncGenerator[DocumentType, None]:
        user, grants = await signed_in(info)
        try:
            pk = parse_global_id(id, "Document")
        except ServiceError:
            pk = 0
        hub = info.context.hub
        # Subscribe before reading, so that no change falls between the read and the stream.
        async with hub.subscribe(f"document:{pk}") as changes:
            document = await Document.get_or_none(id=pk)
            if document is None or not await documents.can_read(user, grants, document):
                raise bad_argument("文档不存在", "NOT_FOUND")
            yield document  # type: ignore[misc]
            while document.status not in FINAL:
                await changes.get()  # a change, or a reconnect: re-read either way
                document = await Document.get(id=pk)
                yield document  # type: ignore[misc]


@strawberry.type
class DocumentsMutation:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="An activity's summary as PDF, rendered in the background (see document).",
    )
    async def request_activity_summary_pdf(
        self, info: Info[Context, None], activity_id: strawberry.ID
    ) -> DocumentPayload:
        user, grants = await signed_in(info)
        rt = info.context.runtime
        document, errors = await attempt(
            DocumentError,
            lambda: documents.request_activity_summary(rt, user, grants, activity_pk(activity_id)),
        )
        return DocumentPayload(document=document, errors=errors)  # type: ignore[arg-type]

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="A summary report PDF (counts, charts, top activities) of one scope: a unit, "
        "a province or city, or the nation.",
    )
    async def request_summary_report(
        self, info: Info[Context, None], input: SummaryReportInput
    ) -> DocumentPayload:
        user, grants = await signed_in(info)
        rt = info.context.runtime
        document, errors = await attempt(
            DocumentError,
            lambda: documents.request_summary_report(
                rt,
                user,
                grants,
                year=input.year,
                organization_id=(
                    parse_global_id(input.organization_id, "Organization", "organizationId")
                    if input.organization_id
                    else None
                ),
                region_code=input.region_code,
                national=bool(input.national),
            ),
        )
        return DocumentPayload(document=document, errors=errors)  # type: ignore[arg-type]

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="National staff: every certificate of a year's final commendations as a ZIP "
        "(one PDF each and one combined PDF); serials never change when rendered again.",
    )
    async def request_certificates(self, info: Info[Context, None], year: int) -> DocumentPayload:
        user, grants = await signed_in(info)
        rt = info.context.runtime
        document, errors = await attempt(
            DocumentError, lambda: documents.request_certificates(rt, user, grants, year)
        )
        return DocumentPayload(document=document, errors=errors)  # type: ignore[arg-type]

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="An activity's bookings (预约名单) as .xlsx, a sheet per slot: its unit, its "
        "reviewers and national staff.",
    )
    async def request_booking_list(
        self, info: Info[Context, None], activity_id: strawberry.ID
    ) -> DocumentPayload:
        user, grants = await signed_in(info)
        rt = info.context.runtime

        async def request() -> Document:
            pk = activity_pk(activity_id)
            return await documents.request_booking_list(rt, user, grants, pk)

        document, errors = await attempt(DocumentError, request)
        return DocumentPayload(document=document, errors=errors)  # type: ignore[arg-type]

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="The caller's own record of science volunteering in a year (志愿服务记录) "
        "as a PDF: the confirmed hours of each activity.",
    )
    async def request_volunteer_record(
        self, info: Info[Context, None], year: int
    ) -> DocumentPayload:
        user = caller(info)
        rt = info.context.runtime

        async def request() -> Document:
            return await documents.request_volunteer_record(rt, user, year)

        document, errors = await attempt(DocumentError, request)
        return DocumentPayload(document=document, errors=errors)  # type: ignore[arg-type]

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="The key-activity schedule (重点活动安排表) as .xlsx: national staff for any "
        "filter, association staff for their region (regionCode required).",
    )
    async def request_activity_schedule(
        self, info: Info[Context, None], filter: ActivityFilter | None = None
    ) -> DocumentPayload:
        user, grants = await signed_in(info)
        rt = info.context.runtime
        document, errors = await attempt(
            DocumentError,
            lambda: documents.request_activity_schedule(
                rt, user, grants, (filter or ActivityFilter()).to_service()
            ),
        )
        return DocumentPayload(document=document, errors=errors)  # type: ignore[arg-type]
