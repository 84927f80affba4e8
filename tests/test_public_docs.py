"""Every public name has a docstring the API reference (mkdocstrings + griffe, docs/reference/) can show.

The reference hides a member without one (``show_if_no_docstring: false``) and its strict build does not warn, so
this test is what keeps the reference whole. It walks each public module's ``__all__`` and, for every class the
project defines there, the public methods, properties, fields and attributes of the class and of its project-defined
bases (members inherited from pydantic or the standard library are theirs to document).

What counts as documented is what griffe reads from the source, nothing imported at run time:

- a module, class, function, method or property: its docstring;
- an attribute (a dataclass, pydantic or ``TypedDict`` field, an enum member, a class constant, a ``self.name`` set
  in ``__init__``, a module constant): the string literal right after its assignment (an attribute docstring), or
  an entry in its class docstring's ``Attributes:`` section. A pydantic ``Field(description=...)`` does not count:
  griffe does not render it.

A member that overrides one a project-defined base class documents borrows the base's docstring (the reference
does so through ``griffe_inherited_docstrings``, help() through ``inspect.getdoc``); one inherited from pydantic or
the standard library does not.

The failure lists every undocumented name, with the file and line to write the docstring at.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import re
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

PUBLIC_MODULES = (
    "adops_async",
    "adops_async.gates",
    "adops_async.extend",
    "adops_async.observe",
    "adops_async.sandbox",
    "adops_async.integrations.fastapi",
    "adops_async.vendors.adnuntius",
    "adops_async.vendors.appnexus",
    "adops_async.vendors.ooyala",
    "adops_async.vendors.pulsepro",
)

# Pydantic's configuration of a model, not a field of the vendor's data.
NOT_MEMBERS = frozenset({"model_config"})

ATTRIBUTE_ENTRY = re.compile(r"^ {4}(\w+(?:, *\w+)*)(?: *\([^)]*\))?:")


@dataclass(frozen=True, order=True)
class Missing:
    """A public name without a docstring, and where to write one."""

    where: str
    name: str

    def __str__(self) -> str:
        return f"{self.where}: {self.name}"


def _is_project(obj: Any) -> bool:
    return (getattr(obj, "__module__", None) or "").split(".")[0] == "adops_async"


@cache
def _module_tree(module_name: str) -> ast.Module:
    module = importlib.import_module(module_name)
    return ast.parse(Path(inspect.getfile(module)).read_text())


def _where(module_name: str, node: ast.AST) -> str:
    path = Path(inspect.getfile(importlib.import_module(module_name)))
    return f"{path.relative_to(Path(__file__).parents[1])}:{getattr(node, 'lineno', 1)}"


@cache
def _class_nodes(module_name: str) -> dict[str, ast.ClassDef]:
    nodes: dict[str, ast.ClassDef] = {}
    for node in ast.walk(_module_tree(module_name)):
        if isinstance(node, ast.ClassDef):
            nodes.setdefault(node.name, node)
    return nodes


def _class_node(cls: type) -> ast.ClassDef:
    node = _class_nodes(cls.__module__).get(cls.__name__)
    assert node is not None, f"no source for {cls.__module__}.{cls.__qualname__}"
    return node


def _documented_attributes(docstring: str | None) -> set[str]:
    """The names an ``Attributes:`` section of a Google-style docstring describes."""
    names: set[str] = set()
    if not docstring:
        return names
    lines = inspect.cleandoc(docstring).splitlines()
    inside = False
    for line in lines:
        if not line.strip():
            continue
        if not line.startswith(" "):
            inside = line.strip() == "Attributes:"
            continue
        match = ATTRIBUTE_ENTRY.match(line) if inside else None
        if match:
            names.update(name.strip() for name in match.group(1).split(","))
    return names


def _assigned_names(statement: ast.stmt, *, on_self: bool = False) -> list[str]:
    """The plain names an assignment binds (``x = ...``, ``x: int``, or ``self.x = ...`` with ``on_self``)."""
    if isinstance(statement, ast.AnnAssign):
        targets = [statement.target]
    elif isinstance(statement, ast.Assign):
        targets = statement.targets
    else:
        return []
    names = []
    for target in targets:
        if on_self:
            if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self":
                names.append(target.attr)
        elif isinstance(target, ast.Name):
            names.append(target.id)
    return names


def _is_docstring(statement: ast.stmt | None) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
        and bool(statement.value.value.strip())
    )


def _attributes(body: list[ast.stmt], *, on_self: bool = False) -> Iterator[tuple[str, ast.stmt, bool]]:
    """(name, assignment, has an attribute docstring) for each public name a block of statements binds."""
    for index, statement in enumerate(body):
        following = body[index + 1] if index + 1 < len(body) else None
        for name in _assigned_names(statement, on_self=on_self):
            if not name.startswith("_") and name not in NOT_MEMBERS:
                yield name, statement, _is_docstring(following)


def _blocks(functions: list[ast.FunctionDef | ast.AsyncFunctionDef]) -> Iterator[list[ast.stmt]]:
    """Every statement list in the functions' bodies (an ``if``'s branches included), each in source order."""
    for function in functions:
        for node in ast.walk(function):
            for field in ("body", "orelse", "finalbody"):
                block = getattr(node, field, None)
                if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                    yield block


def _class_members(cls: type) -> Iterator[tuple[str, ast.AST, bool]]:
    """(name, its definition, documented) for each public member the class body (and its ``__init__``) defines."""
    node = _class_node(cls)
    in_section = _documented_attributes(ast.get_docstring(node, clean=False))
    functions: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]] = {}
    seen: set[str] = set()
    for statement in node.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            functions.setdefault(statement.name, []).append(statement)
    for name, definition, documented in _attributes(node.body):
        seen.add(name)
        if name not in functions:
            yield name, definition, documented or name in in_section
    for name, overloads in functions.items():
        if name == "__init__":
            for block in _blocks(overloads):
                for attribute, definition, documented in _attributes(block, on_self=True):
                    if attribute not in seen and attribute not in functions:
                        seen.add(attribute)
                        yield attribute, definition, documented or attribute in in_section
        elif not name.startswith("_"):
            # A property's setter, or an @overload's stubs, share the name: one docstring covers them all.
            yield name, overloads[0], any(ast.get_docstring(each) for each in overloads)


def _module_attribute(module_name: str, name: str) -> tuple[str, ast.AST, bool] | None:
    """Where a module binds ``name`` and whether it is documented, following ``from .x import name``."""
    tree = _module_tree(module_name)
    for index, statement in enumerate(tree.body):
        if name in _assigned_names(statement):
            following = tree.body[index + 1] if index + 1 < len(tree.body) else None
            return _where(module_name, statement), statement, _is_docstring(following)
    for statement in ast.walk(tree):
        if isinstance(statement, ast.ImportFrom) and any(alias.name == name for alias in statement.names):
            source = importlib.util.resolve_name("." * statement.level + (statement.module or ""), module_name)
            if source.split(".")[0] == "adops_async":
                return _module_attribute(source, name)
    return None


def _undocumented(module: ModuleType) -> Iterator[Missing]:
    checked: set[type] = set()
    for name in module.__all__:
        obj = getattr(module, name)
        if isinstance(obj, ModuleType):
            if not obj.__doc__:
                yield Missing(obj.__name__, "(module)")
        elif inspect.isclass(obj) and _is_project(obj):
            for cls in obj.__mro__:
                if _is_project(cls) and cls not in checked:
                    checked.add(cls)
                    yield from _undocumented_class(cls)
        elif inspect.isfunction(obj) and _is_project(obj):
            if not obj.__doc__:
                yield Missing(f"{obj.__module__}", name)
        elif not inspect.isclass(obj) and not inspect.isfunction(obj):  # a constant, a type alias
            found = _module_attribute(module.__name__, name)
            if found is not None and not found[2]:
                yield Missing(found[0], name)


@cache
def _own_members(cls: type) -> dict[str, tuple[ast.AST, bool]]:
    return {name: (definition, documented) for name, definition, documented in _class_members(cls)}


def _undocumented_class(cls: type) -> Iterator[Missing]:
    """The class's own undocumented names. A member its project-defined base documents is documented: the
    reference shows the base's docstring there (``griffe_inherited_docstrings`` in mkdocs.yml), as help() does."""
    node = _class_node(cls)
    if not ast.get_docstring(node):
        yield Missing(_where(cls.__module__, node), cls.__qualname__)
    bases = [base for base in cls.__mro__[1:] if _is_project(base)]
    for name, (definition, documented) in _own_members(cls).items():
        if not documented and not any(_own_members(base).get(name, (None, False))[1] for base in bases):
            yield Missing(_where(cls.__module__, definition), f"{cls.__qualname__}.{name}")


def test_every_public_name_has_a_docstring() -> None:
    missing = sorted(
        {entry for module_name in PUBLIC_MODULES for entry in _undocumented(importlib.import_module(module_name))}
    )
    report = "\n".join(textwrap.indent(str(entry), "  ") for entry in missing)
    assert not missing, f"{len(missing)} public names without a docstring:\n{report}"


def test_the_walk_sees_fields_methods_and_constants() -> None:
    """The checker itself: fields, properties, methods, enum members, attributes set in ``__init__``, an
    ``Attributes:`` entry, a module constant and a type alias are each found where they are defined."""
    from adops_async import Kind, RetryPolicy
    from adops_async.extend import Page, Reply, Resource

    members = {name for cls in (RetryPolicy, Page, Kind, Reply, Resource) for name, _, _ in _class_members(cls)}
    assert {"attempts", "delay", "items", "next", "READ", "WRITE", "status", "client", "exists"} <= members
    assert _documented_attributes("Head.\n\nAttributes:\n    method, url: the request.\n    vendor (str): who.\n") == {
        "method",
        "url",
        "vendor",
    }
    for module_name, name, where in (
        ("adops_async.vendors.appnexus", "MAX_PAGE", "adops_async/vendors/appnexus/_resources.py"),
        ("adops_async.observe", "Observer", "adops_async/observe/_dispatch.py"),
        ("adops_async", "__version__", "adops_async/__init__.py"),
    ):
        found = _module_attribute(module_name, name)
        assert found is not None
        assert found[0].split(":")[0] == where
