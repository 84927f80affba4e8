"""Every code block of the README runs: Python blocks as they are, shell blocks through the tests that own them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[1]
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
PYTHON = [code for lang, code in BLOCKS if lang == "python"]


def test_the_readme_has_the_two_commands_and_ci_runs_the_test_one() -> None:
    shell = [code.strip() for lang, code in BLOCKS if lang == "bash"]
    assert shell == ["pip install . && adops demo", 'pip install "nox[uv]" && nox -s tests']
    assert "python3 -m nox -s tests\n" in (ROOT / ".ci" / "run").read_text()
    # `adops demo` itself runs in tests/cli/test_cli.py::test_demo_runs_all_four_vendors_without_a_violation


@pytest.mark.parametrize("code", PYTHON, ids=[f"block{i}" for i in range(len(PYTHON))])
def test_python_block_runs(code: str, redis_server: RedisServer) -> None:
    env = {**os.environ, "ADOPS_REDIS_URL": redis_server.url}  # the shared-quota example's Redis
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT, env=env
    )
    assert result.returncode == 0, result.stderr
