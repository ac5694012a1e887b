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

from graphql import DocumentNode, FieldNode, OperationDefinitionNode, OperationType
from redis.asyncio import Redis
from strawberry.extensions import SchemaExtension

from infra import bus
from schema.selections import asks_for
from services.content import KINDS

PUBLIC_FIELDS = frozenset(
    {
        "__typename",
        "activities",
        "activity",
        "activityByQrToken",
        "regionMap",
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


class CachePolicy(SchemaExtension):
    """Says, once a document is parsed and valid, for how long its answer to an anonymous caller
    may be kept (`judge`)."""

    def on_validate(self) -> Iterator[None]:
        yield
        context = self.execution_context
        if context.graphql_document is not None and not context.pre_execution_errors:
            judge(context.context, context.query, context.graphql_document, context.operation_name)


def judge(
    context: object, text: str | None, document: DocumentNode, operation_name: str | None
) -> None:
    """Put in the request's state for how long the answer of a valid document may be kept (the
    view reads it): 0 for anything but a query of the public root fields. Only a request the
    view would keep the answer of is judged (an anonymous one, the cache on), and each document
    once."""
    request = getattr(context, "request", None)
    state = getattr(request, "state", None)
    if state is None or not getattr(state, "cache_wanted", False) or text is None:
        return
    engagement = _judged(text, document, operation_name)
    if engagement is not None:
        settings = context.runtime.settings  # type: ignore[attr-defined]
        state.cache_seconds = (
            settings.response_cache_engagement_seconds
            if engagement
            else settings.response_cache_seconds
        )


_JUDGED: dict[tuple[str, str | None], bool | None] = {}


def _judged(text: str, document: DocumentNode, operation_name: str | None) -> bool | None:
    """None: the operation is not a query of public root fields; else whether it shows
    engagement counts. Remembered per text and operation, for a bounded number of them."""
    key = (text, operation_name)
    if key in _JUDGED:
        return _JUDGED[key]
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [
        o
        for o in operations
        if operation_name is None or (o.name and o.name.value == operation_name)
    ]
    verdict: bool | None = None
    if len(chosen) == 1 and chosen[0].operation is OperationType.QUERY:
        selections = chosen[0].selection_set.selections
        roots = {s.name.value for s in selections if isinstance(s, FieldNode)}
        if len(roots) == len(selections) and roots <= PUBLIC_FIELDS:  # no root fragment
            every = [getattr(d, "selection_set", None) for d in document.definitions]
            verdict = asks_for("engagement", every, {})  # the whole document: each fragment
    if len(_JUDGED) >= 1024:
        _JUDGED.clear()
    _JUDGED[key] = verdict
    return verdict


async def key_for(redis: Redis, method: str, raw: bytes) -> str:
    """The entry of a request: its bytes, under the current versions of public content."""
    versions = await bus.versions(KINDS, redis)
    digest = hashlib.sha256(method.encode() + b"\n" + raw).hexdigest()
    return bus.channel_key(f"answer:{digest}:" + ".".join(map(str, versions)), redis)
