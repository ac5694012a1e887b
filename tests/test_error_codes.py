"""Each mutation's payload lists, in the schema, every code it may return: the codes its resolver
can reach (through the services and machinery it calls, followed by name in their source) are all
values of its error type's enum, so a client sees from the schema what to expect."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from functools import cache

from graphql import GraphQLEnumType, GraphQLList, GraphQLNonNull, GraphQLObjectType

from schema import build_schema
from tests.conftest import ROOT

PACKAGES = ("services", "infra", "schema", "resolvers")
CODE_ENUMS = re.compile(r"(\w*ErrorCode|RateLimitCode)$")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


@dataclass
class _Module:
    functions: dict[str, ast.AST] = field(default_factory=dict)  # top level, and classes' __init__
    classes: dict[str, dict[str, ast.AST]] = field(default_factory=dict)
    modules: dict[str, str] = field(default_factory=dict)  # alias -> module
    names: dict[str, tuple[str, str]] = field(default_factory=dict)  # alias -> (module, name)


@cache
def _index() -> dict[str, _Module]:
    index: dict[str, _Module] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            module = index[name] = _Module()
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    for alias in node.names:
                        module.modules[alias.asname or alias.name] = alias.name
                elif isinstance(node, ast.ImportFrom) and node.module:
                    for alias in node.names:
                        full = f"{node.module}.{alias.name}"
                        if (ROOT / full.replace(".", "/")).with_suffix(".py").exists():
                            module.modules[alias.asname or alias.name] = full
                        else:
                            module.names[alias.asname or alias.name] = (node.module, alias.name)
            for node in tree.body:
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    module.functions[node.name] = node
                elif isinstance(node, ast.ClassDef):
                    methods = {
                        n.name: n
                        for n in node.body
                        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
                    }
                    module.classes[node.name] = methods
                    if "__init__" in methods:  # calling a class runs its __init__
                        module.functions[node.name] = methods["__init__"]
    return index


def _lookup(module: str, name: str, depth: int = 0) -> list[tuple[str, ast.AST]]:
    """What `name` means in `module`: its own function or class, or the one it imports."""
    found = _index().get(module)
    if found is None or depth > 5:
        return []
    if name in found.functions:
        return [(module, found.functions[name])]
    if name in found.names:
        return _lookup(*found.names[name], depth + 1)
    return []


def _callees(module: str, call: ast.Call) -> list[tuple[str, ast.AST]]:
    func, index = call.func, _index()
    if isinstance(func, ast.Name):
        return _lookup(module, func.id)
    if not isinstance(func, ast.Attribute):
        return []
    receiver = func.value
    if isinstance(receiver, ast.Name):
        target = index[module].modules.get(receiver.id)
        if target is not None:  # module.function(...)
            return _lookup(target, func.attr)
        for owner, cls in [
            (module, receiver.id),
            index[module].names.get(receiver.id, ("", "")),
        ]:  # Class.method(...)
            methods = index.get(owner, _Module()).classes.get(cls)
            if methods is not None:
                return [(owner, methods[func.attr])] if func.attr in methods else []
    # an object's method: any method of that name of a class of ours
    return [
        (name, methods[func.attr])
        for name, found in index.items()
        for methods in found.classes.values()
        if func.attr in methods
    ]


def reachable(module: str, start: ast.AST) -> set[str]:
    """The codes a function may refuse with: those it names, and those of what it calls."""
    codes: set[str] = set()
    seen: set[int] = set()
    todo = [(module, start)]
    while todo:
        module, node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        for inner in ast.walk(node):
            if isinstance(inner, ast.Attribute) and isinstance(inner.value, ast.Name):
                if CODE_ENUMS.match(inner.value.id):
                    codes.add(inner.attr)
                target = _index()[module].modules.get(inner.value.id)
                if target is not None:  # a module's function, called or handed on
                    todo += _lookup(target, inner.attr)
            elif isinstance(inner, ast.Name):  # a function called, or handed on (to a thread)
                todo += _lookup(module, inner.id)
            if isinstance(inner, ast.Call):
                todo += _callees(module, inner)
    return codes


def mutation_resolvers() -> dict[str, tuple[str, ast.AST]]:
    """GraphQL mutation field name -> its resolver's module and source."""
    return {
        _camel(method): (module, node)
        for module, found in _index().items()
        if module.startswith("resolvers.")
        for cls, methods in found.classes.items()
        if cls.endswith("Mutation")
        for method, node in methods.items()
    }


def _unwrap(kind):
    while isinstance(kind, GraphQLNonNull | GraphQLList):
        kind = kind.of_type
    return kind


@cache
def _mutations():
    return build_schema()._schema.mutation_type.fields


def declared_codes(field: str) -> set[str] | None:
    """The codes a mutation's payload errors may carry (None: it has no payload errors, and
    answers a refusal with a top-level error and its code)."""
    payload = _unwrap(_mutations()[field].type)
    assert isinstance(payload, GraphQLObjectType), field
    if "errors" not in payload.fields:
        return None
    error = _unwrap(payload.fields["errors"].type)
    code = _unwrap(error.fields["code"].type)
    assert isinstance(code, GraphQLEnumType), field
    return set(code.values)


def test_every_mutation_declares_every_code_it_may_return():
    missing = {}
    for name, resolver in mutation_resolvers().items():
        declared = declared_codes(name)
        if declared is not None:
            missing[name] = sorted(reachable(*resolver) - declared)

    assert len(missing) > 40  # every mutation with payload errors was found
    assert {k: v for k, v in missing.items() if v} == {}
