"""Persisted documents: a client sends an operation's id instead of its text.

Two protocols name the same thing. The GraphQL-over-HTTP draft's `documentId` is "sha256:" and
the hex SHA-256 of the document's text; Apollo's automatic persisted queries send that hash as
`extensions.persistedQuery.sha256Hash`. A registered document (`kepuri register-operations`,
kept in the database) is found by either. A client may also persist a query itself, by sending
its text with its hash once (kept in Redis for PERSISTED_QUERY_SECONDS), unless
REGISTERED_OPERATIONS_ONLY is set: then only registered documents run, however they are sent
(by id, by text, over a websocket).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FragmentSpreadNode,
    GraphQLError,
    OperationDefinitionNode,
    parse,
    print_ast,
)
from graphql.language import FragmentDefinitionNode, Visitor, visit
from graphql.language.ast import Node
from redis.asyncio import Redis
from strawberry.extensions import SchemaExtension

from models import PersistedDocument

PREFIX = "sha256:"
_ID = re.compile(r"sha256:[0-9a-f]{64}")
NOT_REGISTERED = "OPERATION_NOT_REGISTERED"


def document_id(text: str) -> str:
    return PREFIX + hashlib.sha256(text.encode()).hexdigest()


class NotPersisted(Exception):
    """A request by id that cannot be answered: a message in Chinese and a code."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Persisted:
    """Where persisted documents are found (one per process). A registered document, once read,
    stays in memory: the text of an id never changes."""

    redis: Redis
    seconds: int = 86_400
    _registered: dict[str, str] = field(default_factory=dict)

    async def registered(self, key: str) -> str | None:
        text = self._registered.get(key)
        if text is None:
            row = await PersistedDocument.get_or_none(id=key)
            if row is None:
                return None
            if len(self._registered) < 10_000:
                self._registered[key] = row.body
            text = row.body
        return text

    def remembered(self, key: str) -> bool:
        """Whether a registered document is in memory (a False means: ask `registered`)."""
        return key in self._registered

    async def text(self, key: str) -> str | None:
        """A registered document, else one a client persisted."""
        found = await self.registered(key)
        if found is not None:
            return found
        kept = await self.redis.get(_redis_key(key))
        return kept.decode() if isinstance(kept, bytes) else kept

    async def remember(self, key: str, text: str) -> None:
        if await self.registered(key) is None:
            await self.redis.set(_redis_key(key), text, ex=self.seconds)


def _redis_key(key: str) -> str:
    return f"kepuri:persisted:{key}"


def requested_id(extensions: dict[str, Any] | None) -> tuple[str, bool] | None:
    """The document id a request names, and whether by Apollo's protocol (None: it names none)."""
    persisted = (extensions or {}).get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, dict):
        raise NotPersisted("extensions.persistedQuery须为对象", "PERSISTED_QUERY_INVALID")
    if "documentId" in persisted:
        key, apollo = persisted["documentId"], False
    else:
        digest = persisted.get("sha256Hash")
        key, apollo = (PREFIX + digest if isinstance(digest, str) else None), True
    if not isinstance(key, str) or not _ID.fullmatch(key):
        raise NotPersisted("文档ID须为sha256:加64位十六进制小写摘要", "PERSISTED_QUERY_INVALID")
    return key, apollo


async def resolve(
    store: Persisted, key: str, apollo: bool, query: str | None, registered_only: bool
) -> str:
    """The text to run for a request naming document `key` (and maybe sending its text too)."""
    if query is None:
        text = await (store.registered(key) if registered_only else store.text(key))
        if text is None:
            if apollo:  # the words Apollo's clients look for before they send the text
                raise NotPersisted("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND")
            raise NotPersisted("没有这个已登记的文档", "PERSISTED_DOCUMENT_NOT_FOUND")
        return text
    if document_id(query) != key:
        raise NotPersisted("文档ID与查询内容不符", "PERSISTED_QUERY_HASH_MISMATCH")
    if not registered_only:
        await store.remember(key, query)
    return query


class RegisteredOnly(SchemaExtension):
    """With REGISTERED_OPERATIONS_ONLY, an operation runs only if its document is registered,
    whichever way it came (an id, its text, a websocket)."""

    async def on_validate(self) -> AsyncIterator[None]:
        context = self.execution_context
        request = context.context
        runtime = getattr(request, "runtime", None)  # none: a schema executed on its own
        if (
            runtime is not None
            and runtime.settings.registered_operations_only
            and not context.pre_execution_errors
            and context.query is not None
            and await request.persisted.registered(document_id(context.query)) is None
        ):
            context.pre_execution_errors = [
                GraphQLError(
                    "只接受已登记的操作（请按文档ID发送）", extensions={"code": NOT_REGISTERED}
                )
            ]
        yield


# ---------------------------------------------------------------- registering


def split_operations(source: str) -> list[tuple[str, str]]:
    """Each named operation of a document, with the fragments it uses (recursively), as the
    text that is registered: (operation name, text)."""
    document = parse(source)
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    operations = []
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode) or definition.name is None:
            continue
        needed: dict[str, FragmentDefinitionNode] = {}
        todo: list[Node] = [definition]
        while todo:
            for name in _spreads(todo.pop()):
                if name not in needed and name in fragments:
                    needed[name] = fragments[name]
                    todo.append(fragments[name])
        alone = DocumentNode(definitions=(definition, *needed.values()))
        operations.append((definition.name.value, print_ast(alone)))
    return operations


def _spreads(node: Node) -> list[str]:
    names: list[str] = []

    class Spreads(Visitor):
        def enter_fragment_spread(self, spread: FragmentSpreadNode, *_: Any) -> None:
            names.append(spread.name.value)

    visit(node, Spreads())
    return names


async def register(operations: list[tuple[str, str]]) -> dict[str, str]:
    """Register documents (again: nothing changes); their ids by operation name."""
    manifest = {}
    for name, text in operations:
        key = document_id(text)
        await PersistedDocument.get_or_create(
            id=key, defaults={"body": text, "operation_name": name}
        )
        manifest[name] = key
    return manifest
