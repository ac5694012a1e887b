"""One execution of a subscription event for every subscriber that asks the same thing.

A live change reaches every portal subscription of a process as one and the same payload object
(`services.portals.RecentChanges`). GraphQL executes the subscription's selection once per
subscriber and event; with a thousand subscribers that execution was the whole cost of a change.
A payload that carries `shared_results` (a dict) offers a place to share it: the first subscriber
to execute a given document, variables (its resume cursor `after` aside) and viewer stores the
result there, and the others take it. Everything that can change an answer is in the key: the
operation's text, the variables, the person or API client asking.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from schema.execution import Execution

UNSHARED_VARIABLES = frozenset({"after"})


def _taken(result: Any) -> Any:
    # a subscriber that leaves while it waits must not cancel the others' execution
    return asyncio.shield(result) if isinstance(result, asyncio.Future) else result


class _Answered:
    """The per-event "executor" of a subscriber whose answer another one's execution gave."""

    def __init__(self, result: Any) -> None:
        self.result = result

    def execute_operation(self, serially: bool | None = None) -> Any:
        return _taken(self.result)


class SharedEventExecutor(Execution):
    def build_per_event_executor(self, payload: Any) -> Any:
        """For an event already answered for the same key, that answer (graphql-core would copy
        this executor for every subscriber and event); else a copy that will execute it."""
        shared = getattr(payload, "shared_results", None)
        if isinstance(shared, dict):
            key = self._share_key()
            if key is not None and key in shared:
                return _Answered(shared[key])
        return super().build_per_event_executor(payload)

    def execute_operation(self, serially: bool | None = None) -> Any:
        shared = getattr(self.root_value, "shared_results", None)
        key = self._share_key() if isinstance(shared, dict) else None
        if key is None:
            return super().execute_operation(serially)
        assert isinstance(shared, dict)
        if key not in shared:
            result = super().execute_operation(serially)
            if self.is_awaitable(result):  # the others await the same execution
                result = asyncio.ensure_future(result)
            shared[key] = result
        return _taken(shared[key])

    def _share_key(self) -> tuple[Any, ...] | None:
        location = self.operation.loc
        if location is None:
            return None
        # A subscription's key is the same for every event: kept with its connection's context,
        # under its variables (one dict per subscription, held so that its id stays its own).
        context = self.context_value
        coerced = self.variable_values.coerced
        keys: dict[int, tuple[Any, tuple[Any, ...]]] | None = getattr(context, "share_keys", None)
        kept = keys.get(id(coerced)) if keys is not None else None
        if kept is not None and kept[0] is coerced:
            return kept[1]
        variables = {k: v for k, v in coerced.items() if k not in UNSHARED_VARIABLES}
        user = getattr(context, "user", None)
        client = getattr(context, "api_client", None)
        key = (
            location.source.body,
            self.operation.name.value if self.operation.name else None,
            json.dumps(variables, sort_keys=True, default=str),
            user.id if user is not None else None,
            client.id if client is not None else None,
        )
        if keys is not None:
            if len(keys) >= 100:  # a long connection that subscribed again and again
                keys.clear()
            keys[id(coerced)] = (coerced, key)
        return key
