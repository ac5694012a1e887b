"""Anonymous answers, cached in Redis and shared by every API process, exactly.

A request without a token (the public browsing the site and the apps: lists, an activity, the
campaign, regions, commendations, comments, certificate checks) is answered from the cache when
the same request (its method and its bytes) was answered before under the current versions of
public content (`services.content`): a change moves a version on after it commits, so no entry
built on older content is read again, by any process. Only queries of the public root fields
below are kept, only when they succeeded; an answer that shows engagement counts is kept for
RESPONSE_CACHE_ENGAGEMENT_SECONDS only (they change with every like), any other for
RESPONSE_CACHE_SECONDS. A request with a token never reads or writes an entry.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from graphql import FieldNode, OperationDefinitionNode, OperationType
from graphql.language import Visitor, visit
from redis.asyncio import Redis
from strawberry.extensions import SchemaExtension

from infra import bus
from services.content import KINDS

PUBLIC_FIELDS = frozenset(
    {
        "__typename",
        "activities",
        "activity",
        "activityByQrToken",
        "campaign",
        "regions",
        "supervisingUnits",
        "comments",
        "commendations",
        "verifyCertificate",
        "node",
        "nodes",
    }
)


def _selects_engagement(node: Any) -> bool:
    found = False

    class Engagement(Visitor):
        def enter_field(self, field: FieldNode, *_: Any) -> None:
            nonlocal found
            if field.name.value == "engagement":
                found = True

    visit(node, Engagement())
    return found


class CachePolicy(SchemaExtension):
    """Says, once a document is parsed and valid, for how long its answer to an anonymous caller
    may be kept (the view reads it from the request's state): 0 for anything but a query of the
    public root fields."""

    def on_validate(self) -> Iterator[None]:
        yield
        context = self.execution_context
        request = getattr(context.context, "request", None)
        runtime = getattr(context.context, "runtime", None)
        document = context.graphql_document
        if request is None or runtime is None or document is None or context.pre_execution_errors:
            return
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        chosen = [
            o
            for o in operations
            if context.operation_name is None or (o.name and o.name.value == context.operation_name)
        ]
        if len(chosen) != 1 or chosen[0].operation is not OperationType.QUERY:
            return
        roots = {
            s.name.value for s in chosen[0].selection_set.selections if isinstance(s, FieldNode)
        }
        if len(roots) != len(chosen[0].selection_set.selections) or not roots <= PUBLIC_FIELDS:
            return  # a fragment at the root, or a field that is not public
        settings = runtime.settings
        seconds = (
            settings.response_cache_engagement_seconds
            if _selects_engagement(document)
            else settings.response_cache_seconds
        )
        request.state.cache_seconds = seconds


async def key_for(redis: Redis, method: str, raw: bytes) -> str:
    """The entry of a request: its bytes, under the current versions of public content."""
    versions = await bus.versions(KINDS, redis)
    digest = hashlib.sha256(method.encode() + b"\n" + raw).hexdigest()
    return bus.channel_key(f"answer:{digest}:" + ".".join(map(str, versions)), redis)
