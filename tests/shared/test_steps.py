"""The step protocol: the table in ``core/steps.py`` and the branches of ``core/_scripts.lua`` must agree, so Python
and Lua cannot drift apart unseen (a step with an argument too few reads ``""`` in Lua as a number: nil arithmetic)."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from adops_async.core import steps

SCRIPT = resources.files("adops_async.core").joinpath("_scripts.lua").read_text(encoding="utf-8")


def lua_branches() -> dict[str, tuple[set[str], int]]:
    """For each opcode the script handles: the operations whose branches read it, and the highest ``a(n)`` read."""
    found: dict[str, tuple[set[str], int]] = {}
    for operation in re.split(r'\nif op == "', SCRIPT)[1:]:
        name = operation.split('"', 1)[0]
        for branch in re.split(r'kind == "', operation)[1:]:
            code = branch[0]
            ops, highest = found.get(code, (set(), 0))
            reads = [int(n) for n in re.findall(r"\ba\((\d)\)", branch)]
            found[code] = (ops | {name}, max([highest, *reads]))
    return found


def lua_keys() -> dict[str, int]:
    table = re.search(r"local KEYS_OF = \{(.*?)\}", SCRIPT)
    assert table is not None
    return {code: int(n) for code, n in re.findall(r"(\w) = (\d)", table.group(1))}


def test_every_opcode_has_one_entry_on_each_side() -> None:
    assert set(steps.OPCODES) == set(lua_branches()) == set(lua_keys())


@pytest.mark.parametrize("code", sorted(steps.OPCODES))
def test_each_opcode_reads_the_keys_and_arguments_the_table_declares(code: str) -> None:
    opcode = steps.OPCODES[code]
    operations, highest = lua_branches()[code]
    assert lua_keys()[code] == len(opcode.keys)
    assert operations == opcode.ops
    # a take reads the last slot as the "lost" mark; settle and renew steps may use it for an argument
    assert highest == len(opcode.args) <= (steps.WIDTH - 1 if "take" in opcode.ops else steps.WIDTH)


def test_a_step_always_fills_its_slots_and_marks_lost_ones_last() -> None:
    step = steps.bucket_resume("k", empty=2.0, debt=0.0, only_if_lost=True)
    assert step.argv() == ["E", 2.0, 0.0, "", "", "", "", "lost"]
    assert steps.pause_check("p").argv() == ["C", "", "", "", "", "", "", ""]


def test_a_builder_refuses_arguments_the_opcode_does_not_take() -> None:
    with pytest.raises(TypeError, match="takes keys"):
        steps._step("X", ("pause",), wait=1.0, extra=2.0)
