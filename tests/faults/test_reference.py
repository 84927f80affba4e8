"""The public API as help(), an IDE and the API reference see it (issue 18, defect 10).

Every resource of a vendor client is declared on its class (typed) and named in its docstring; ``reports.run`` takes
the report's own parameters; every type in a top-level signature is exported beside it; the example uses public
names only; Adnuntius is never scoped to a network the caller did not name.
"""

from __future__ import annotations

import ast
import collections.abc
import dataclasses
import inspect
import pydoc
import sys
import typing
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

import adops_async
import adops_async.extend
from adops_async import Adnuntius, AdOps, AppNexus, OoyalaPulse, PulsePro
from adops_async.extend import BaseClient

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]

CLIENTS: list[tuple[type[BaseClient], dict[str, Any]]] = [
    (AppNexus, {"username": "u", "password": "p"}),
    (Adnuntius, {"api_key": "k", "context": "network_1"}),
    (OoyalaPulse, {"api_key": "k"}),
    (PulsePro, {"api_key": "k", "base_url": "http://pulse.test"}),
]


def own_attributes(client: BaseClient) -> set[str]:
    """The public attributes a vendor client sets beyond those of :class:`BaseClient`."""
    base = BaseClient(base_url="http://base.test")
    return {name for name in vars(client) if not name.startswith("_")} - set(vars(base))


@pytest.mark.parametrize(("cls", "settings"), CLIENTS, ids=[cls.__name__ for cls, _ in CLIENTS])
def test_every_resource_is_declared_on_the_class_and_shown_by_help(
    cls: type[BaseClient], settings: dict[str, Any]
) -> None:
    attributes = own_attributes(cls(**settings))
    assert "reports" in attributes or cls is PulsePro
    declared = typing.get_type_hints(cls, localns=vars(sys.modules[cls.__module__]))
    assert attributes - set(declared) == set()
    docstring = inspect.getdoc(cls) or ""
    attributes_section = docstring.split("\nAttributes:\n", 1)[1]
    assert {name for name in attributes if f"\n    {name}: " not in f"\n{attributes_section}"} == set()
    shown = pydoc.render_doc(cls, renderer=pydoc.plaintext)
    assert {name for name in attributes if f"{name}: " not in shown} == set()


def test_help_of_appnexus_names_line_items_and_reports() -> None:
    shown = pydoc.render_doc(AppNexus, renderer=pydoc.plaintext)
    assert "line_items: ``line-item``" in shown
    assert "reports: ``report``" in shown


def keyword_parameters(function: Any) -> dict[str, inspect.Parameter]:
    return {
        name: parameter
        for name, parameter in inspect.signature(function).parameters.items()
        if parameter.kind is not inspect.Parameter.VAR_KEYWORD
    }


def test_reports_run_takes_the_reports_own_parameters() -> None:
    appnexus = AppNexus(username="u", password="p").reports.run
    parameters = keyword_parameters(appnexus)
    submit = keyword_parameters(AppNexus(username="u", password="p").reports.submit)
    assert set(submit) <= set(parameters)
    assert {"give_up_after", "page_rows"} <= set(parameters)
    assert parameters["report_type"].default is inspect.Parameter.empty
    assert parameters["columns"].default is inspect.Parameter.empty
    assert all(parameter.annotation is not inspect.Parameter.empty for parameter in parameters.values())
    assert "report_type:" in (inspect.getdoc(appnexus) or "")

    adnuntius = Adnuntius(api_key="k", context="network_1")
    assert keyword_parameters(adnuntius.reports.run) == keyword_parameters(adnuntius.stats)
    assert "group_by:" in (inspect.getdoc(adnuntius.reports.run) or "")


def classes_in(annotation: Any) -> set[type]:
    found: set[type] = set()
    for argument in typing.get_args(annotation):
        found |= classes_in(argument)
    if isinstance(annotation, type):
        found.add(annotation)
    return found


def test_every_type_in_a_top_level_signature_is_exported_publicly() -> None:
    # The user API at the top level, the building blocks of a vendor client in adops_async.extend.
    public = (adops_async, adops_async.extend)
    unexported: dict[str, set[str]] = {}
    for name in adops_async.__all__:
        exported = getattr(adops_async, name)
        if not (inspect.isclass(exported) or inspect.isfunction(exported)) or dataclasses.is_dataclass(exported):
            continue  # a dataclass's generated __init__ lists the state it keeps, not what a caller builds
        function = exported.__init__ if inspect.isclass(exported) else exported
        if not inspect.isfunction(function):
            continue  # no signature of its own
        # Names its module imports only for type checking (redis's client) resolve here.
        namespace = {**vars(collections.abc), **vars(typing), **vars(sys.modules[function.__module__]), "Redis": Redis}
        for annotation in typing.get_type_hints(function, localns=namespace).values():
            for used in classes_in(annotation):
                if used.__module__.startswith("adops_async") and all(
                    getattr(module, used.__name__, None) is not used for module in public
                ):
                    unexported.setdefault(used.__name__, set()).add(name)
    assert unexported == {}


def test_the_example_imports_public_names_only() -> None:
    tree = ast.parse((ROOT / "examples" / "fastapi_app.py").read_text(encoding="utf-8"))
    modules = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    modules |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    private = {module for module in modules if any(part.startswith("_") for part in module.split("."))}
    assert private == {"__future__"}


def test_adnuntius_needs_the_network_it_is_scoped_to() -> None:
    assert inspect.signature(Adnuntius).parameters["context"].default is inspect.Parameter.empty
    with pytest.raises(TypeError, match="context"):
        Adnuntius(api_key="k")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match=r"context=, the id of the network"):
        Adnuntius(api_key="k", context=" ")


async def test_serve_seeded_gives_client_settings_for_seeded_sandboxes() -> None:
    from adops_async.sandbox import serve_seeded  # new in this module's change: imported here, not at collection

    with pytest.raises(ValueError, match="no sandbox for nexus"), serve_seeded("nexus"):
        pass
    with serve_seeded("adnuntius", "appnexus") as settings:
        assert list(settings) == ["adnuntius", "appnexus"]
        assert settings["adnuntius"]["context"] == "network_1"
        counts = {"adnuntius": 0, "appnexus": 0}
        what = {"adnuntius": "orders", "appnexus": "insertion_orders"}
        async with AdOps(**settings) as ops, ops.paginate(what) as entities:
            async for entity in entities:
                counts[entity.vendor] += 1
    assert counts == {"adnuntius": 50, "appnexus": 40}
