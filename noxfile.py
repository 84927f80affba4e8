"""Developer tasks: `nox -s tests` (the README's test command), lint, typecheck, bench, matrix, docs."""

from __future__ import annotations

import glob
import os

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = False
# uv builds a session's environment in seconds where pip takes most of a minute (the test extras pull in FastAPI,
# DuckDB, PyArrow, OpenTelemetry); nox falls back to virtualenv + pip on a machine without uv.
nox.options.default_venv_backend = "uv|virtualenv"


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite, every async test on asyncio and trio. Fails when nothing is collected (pytest exit 5).

    Three pytest-xdist workers per core (6 on the 2-core machine, at most 12): most end-to-end tests wait on sockets,
    subprocesses and a sandbox's clock rather than compute (the suite's CPU time is about its wall time on 2 cores
    with 4 workers: half the machine idle), so three per core keep both cores busy. Each worker starts its own
    redis-server (the session fixture in tests/conftest.py). ``nox -s tests -- -n 0`` runs in one process.
    """
    session.install("-e", ".[test]")
    # pytest keeps its assertion rewrite of each test module as bytecode; where the environment turns bytecode writing
    # off, every worker rewrites every module on every run (3 s of CPU each). An empty value turns it back on.
    workers = str(min(12, 3 * (os.cpu_count() or 1)))
    session.run("pytest", "-n", workers, "--dist", "worksteal", *session.posargs, env={"PYTHONDONTWRITEBYTECODE": ""})


@nox.session(python=["3.10", "3.11", "3.12", "3.13"])
def matrix(session: nox.Session) -> None:
    """The test suite on every supported Python found on this machine (missing ones are skipped)."""
    session.install("-e", ".[test]")
    session.run("pytest", "-q", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    session.install("-e", ".[test]", "mypy>=1.11", "types-xmltodict")
    session.run("mypy", "--strict", "adops_async")


@nox.session
def bench(session: nox.Session) -> None:
    """Every script in benchmarks/ (each prints its figures, as ratios against a baseline run alongside)."""
    session.install("-e", ".[test]")
    for script in sorted(glob.glob("benchmarks/[!_]*.py")):
        session.run("python", script, *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """The API reference, built from the docstrings in strict mode: any warning (a broken link, an unknown name in a
    docstring, a parameter documented but not in the signature) fails the build. The site lands in ``site/``."""
    session.install("-e", ".[docs]")
    session.run("mkdocs", "build", "--strict", *session.posargs)
