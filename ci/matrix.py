"""The version matrix: the kernel tests and the teaching notebooks in each supported environment.

    python3 ci/matrix.py                 # every environment; one line each; exit 1 if any failed
    python3 ci/matrix.py colab hub-2024  # only these
    python3 ci/matrix.py --markdown      # the same results as the README's compatibility table

Each environment is a venv under ``.matrix/`` (git-ignored) built from the
interpreter pyenv installed and a pinned set of releases, then the project
installed with ``--no-deps``, so what is tested is the pins, not whatever pip
would pick. A venv is reused while its interpreter and pins are unchanged.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import time
import tomllib
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".matrix"
PYENV = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"

#: What the kernel tests themselves need, beside the packages under test: the test extra less its
#: browsers, JupyterLab and pandas (no versions: the drivers and the cell's HTTP clients, not the subject).
TEST_TOOLS = ["pytest", "jupyter_client", "nbclient", "nbformat", "nbconvert", "requests", "httpx", "aiohttp"]

#: Everything marked ``kernel`` except what the full suite runs once, on the default Python: the
#: README's install into a fresh venv, the browser tests of the report's and the replay's HTML, and
#: JupyterLab in a browser (``slow``).
PYTEST_ARGS = [
    "-m",
    "kernel and not slow",
    "--deselect",
    "tests/test_examples.py::test_main_command_works_in_a_fresh_virtual_environment",
    "--ignore-glob",
    "tests/test_*_browser.py",
    "--ignore-glob",
    "tests/test_jupyterlab*.py",
]

#: The packages whose versions make an environment; printed per line in this order.
SUBJECTS = ["ipython", "ipykernel", "gevent", "greenlet", "tornado", "ipywidgets"]


@dataclass(frozen=True)
class Environment:
    name: str
    python: str  # a pyenv version
    pins: tuple[str, ...]
    what: str

    @property
    def interpreter(self) -> Path:
        return PYENV / self.python / "bin" / "python"

    @property
    def venv(self) -> Path:
        return CACHE / self.name

    @property
    def key(self) -> str:
        text = "\n".join([self.python, *self.pins, *TEST_TOOLS])
        return hashlib.sha256(text.encode()).hexdigest()


NEWEST = (
    "ipython==9.18.1",
    "ipykernel==7.4.0",
    "gevent==26.9.0",
    "greenlet==3.5.6",
    "tornado==6.6.1",
    "ipywidgets==8.1.9",
)

ENVIRONMENTS = [
    Environment("py3.11", "3.11.7", NEWEST, "Python 3.11, newest releases"),
    Environment("py3.12", "3.12.1", NEWEST, "Python 3.12, newest releases"),
    Environment("py3.13", "3.13.0", NEWEST, "Python 3.13, newest releases"),
    Environment(
        "hub-2024",
        "3.11.7",
        (
            "ipython==8.39.0",
            "ipykernel==6.29.5",
            "gevent==24.2.1",
            "greenlet==3.0.3",
            "tornado==6.4.2",
            "ipywidgets==8.1.2",
        ),
        "a 2024 JupyterHub: ipykernel 6.29, IPython 8",
    ),
    Environment(
        "colab",
        "3.11.7",
        (
            "ipython==7.34.0",
            "ipykernel==6.17.1",
            "gevent==23.9.1",
            "greenlet==3.0.3",
            "tornado==6.3.3",
            "ipywidgets==7.7.1",
        ),
        "Colab-like: ipykernel 6.17, IPython 7.34",
    ),
]


def run(command: list) -> str:
    """Run ``command``, return its output; on failure raise with the output's tail (pip's warnings stay out)."""
    done = subprocess.run([str(part) for part in command], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, command))}: exit {done.returncode}\n{done.stderr[-3000:]}")
    return done.stdout


def ensure_venv(env: Environment) -> Path:
    """The environment's python, building its venv unless one with the same pins is there."""
    python = env.venv / "bin" / "python"
    stamp = env.venv / "pins.sha256"
    if stamp.exists() and stamp.read_text() == env.key and python.exists():
        return python
    run([env.interpreter, "-m", "venv", "--clear", env.venv])
    run([python, "-m", "pip", "install", "-q", "--upgrade", "pip"])
    run([python, "-m", "pip", "install", "-q", *env.pins, *TEST_TOOLS])
    stamp.write_text(env.key)
    return python


def versions(python: Path) -> dict[str, str]:
    code = (
        "import sys; from importlib import metadata\n"
        f"for name in {SUBJECTS!r}: print(name, metadata.version(name))\n"
        "print('python', sys.version.split()[0])"
    )
    out = run([python, "-c", code])
    return dict(line.split() for line in out.splitlines())


def unmet_requirements(python: Path) -> str:
    """What ``pip check`` says the project requires and the environment lacks ("" if nothing)."""
    done = subprocess.run([python, "-m", "pip", "check"], capture_output=True, text=True)
    return "; ".join(line for line in done.stdout.splitlines() if line.lower().startswith("geventtornado"))


def lower_bounds_problems() -> list[str]:
    """Where a lower bound in pyproject.toml is not the oldest release the matrix tests."""
    declared = {}
    for requirement in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]:
        name, _, bound = requirement.partition(">=")
        declared[name.strip().lower()] = bound.strip()
    problems = []
    for name in SUBJECTS:
        tested = [pin.split("==")[1] for env in ENVIRONMENTS for pin in env.pins if pin.split("==")[0] == name]
        oldest = min(tested, key=release)
        if declared.get(name) != oldest:
            problems.append(f"{name}>={declared.get(name)} in pyproject.toml, but the oldest tested is {oldest}")
    return problems


def release(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


@dataclass
class Result:
    env: Environment
    versions: dict[str, str]
    passed: int
    failed: int
    skipped: int
    seconds: float
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error and self.failed == 0 and self.passed > 0

    def line(self) -> str:
        pins = " ".join(f"{name} {self.versions.get(name, '?')}" for name in ["python", *SUBJECTS])
        counts = self.error or f"{self.passed} passed, {self.failed} failed, {self.skipped} skipped"
        return f"{'PASS' if self.ok else 'FAIL'} {self.env.name:<9} {pins}: {counts} ({self.seconds:.0f} s)"


def test(env: Environment, extra: list[str]) -> Result:
    started = time.monotonic()
    if not env.interpreter.exists():
        return Result(env, {}, 0, 0, 0, 0, f"no Python {env.python}: pyenv install {env.python}")
    try:
        python = ensure_venv(env)
        run([python, "-m", "pip", "install", "-q", "--no-deps", "-e", ROOT])
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return Result(env, {}, 0, 0, 0, time.monotonic() - started, "install failed")
    unmet = unmet_requirements(python)
    if unmet:
        return Result(env, versions(python), 0, 0, 0, time.monotonic() - started, f"pyproject.toml refuses it: {unmet}")
    report = env.venv / "junit.xml"
    report.unlink(missing_ok=True)
    log = env.venv / "pytest.log"
    with log.open("w") as out:
        subprocess.run(
            [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}", *PYTEST_ARGS, *extra],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHONPATH"))},
        )
    seconds = time.monotonic() - started
    if not report.exists():
        return Result(env, versions(python), 0, 0, 0, seconds, f"pytest did not run, see {log}")
    suite = ET.parse(report).getroot().find("testsuite")
    total, failed = int(suite.get("tests")), int(suite.get("failures")) + int(suite.get("errors"))
    skipped = int(suite.get("skipped"))
    return Result(env, versions(python), total - failed - skipped, failed, skipped, seconds)


def markdown(results: list[Result]) -> str:
    header = ["environment", "Python", "IPython", "ipykernel", "gevent", "greenlet", "Tornado", "ipywidgets", "kernel tests"]
    rows = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for result in results:
        cells = [result.env.what, *(result.versions.get(name, "?") for name in ["python", *SUBJECTS])]
        counts = f"{result.passed} passed, {result.skipped} skipped" if result.ok else f"FAIL: {result.line()}"
        rows.append("| " + " | ".join([*cells, counts]) + " |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help=f"environments to run (default: all of {[e.name for e in ENVIRONMENTS]})")
    parser.add_argument("--markdown", action="store_true", help="also print the results as a Markdown table")
    parser.add_argument("-k", dest="keyword", help="pytest -k, to run a few tests only")
    args = parser.parse_args(argv)
    unknown = set(args.names) - {env.name for env in ENVIRONMENTS}
    if unknown:
        parser.error(f"unknown environment {', '.join(sorted(unknown))}")
    chosen = [env for env in ENVIRONMENTS if not args.names or env.name in args.names]
    extra = ["-k", args.keyword] if args.keyword else []
    bounds = lower_bounds_problems()
    for problem in bounds:
        print(f"FAIL lower bound: {problem}", flush=True)
    CACHE.mkdir(exist_ok=True)
    results = []
    for env in chosen:
        result = test(env, extra)
        results.append(result)
        print(result.line(), flush=True)
    if args.markdown:
        print(markdown(results))
    return 0 if all(result.ok for result in results) and not bounds else 1


if __name__ == "__main__":
    sys.exit(main())
