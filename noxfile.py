"""Developer tasks: ``nox -s tests stress lint typecheck docs`` (CI), ``nox -s bench``."""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.sessions = ["tests", "stress", "lint", "typecheck", "docs"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = ["3.11"]


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the test suite with coverage; pytest's "no tests ran" (exit 5) fails it."""
    session.install("-e", ".[test]")
    session.run(
        "pytest",
        "--cov=trio_chatsse",
        "--cov-report=term-missing",
        "--cov-fail-under=90",
        *session.posargs,
    )


@nox.session(python=PYTHON)
def stress(session: nox.Session) -> None:
    """The heavy tests: 200 concurrent streams, a 50 MB line, the soak (10,000 streams in a row,
    twice 1,000 at once) on a client of each library."""
    session.install("-e", ".[test]")
    session.run("pytest", "-m", "stress", "--run-stress", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff (with its ASYNC rules), ruff format, and flake8-async's own checks."""
    session.install("-e", ".[lint]")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    # ASYNC9xx are flake8-async's opt-in rules; its default set is ASYNC1xx-4xx.
    # ASYNC124 flags async generators without an await: test byte sources must be async.
    # ASYNC127 ("use httpx2 instead of httpx") holds for the package, which imports neither
    # library at run time (a client of either is passed in). The tests, benchmarks and doc
    # examples use httpx on purpose, beside httpx2: httpx is still the default install.
    enable = "--enable=ASYNC1,ASYNC2,ASYNC3,ASYNC4"
    # The shared limiter's connection task, started with nursery.start().
    startable = "--startable-in-context-manager=_connect"
    package = _python_files(["trio_chatsse"])
    session.run("flake8-async", enable, startable, "--disable=ASYNC124", *package)
    others = _python_files(["tests", "benchmarks", "docs"])
    session.run("flake8-async", enable, "--disable=ASYNC124,ASYNC127", *others)


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package, the tests, the benchmarks and the doc examples."""
    session.install("-e", ".[test,typecheck,bench]")
    session.run("mypy")


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the Sphinx docs from scratch with warnings as errors, then check the HTML."""
    session.install("-e", ".[docs,test]")
    session.run(
        "sphinx-build", "-E", "-W", "--keep-going", "-n", "-b", "html", "docs", "docs/_build/html"
    )
    session.run("pytest", "tests/test_rendered_docs.py", "-q")


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Run the benchmark against raw httpx, httpx-sse and openai-python, side by side."""
    session.install("-e", ".[bench]")
    session.run("python", "benchmarks/bench.py", *session.posargs)


def _python_files(roots: list[str]) -> list[str]:
    files = (p for root in roots for p in sorted(Path(root).rglob("*.py")))
    return [str(p) for p in files if "_build" not in p.parts]
