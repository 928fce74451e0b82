"""MXCuBE's own py-ispyb client, in a virtualenv of its own: ``mxcubecore`` pins versions (numpy<2,
PyTango, python-ldap...) that neither this project's venv nor this machine should carry, and its REST
client and data adapter need only a handful of them. So: ``mxcubecore`` without its dependencies, then
exactly what the import chain of ``PyISPyBDataAdapter`` needs.

The venv lives in ``<repo>/.cache/mxcube-client/`` (git-ignored), is built once per machine and reused
while its stamp names the same packages and the adapter still imports. A file lock keeps two pytest
processes from building it at the same time. When PyPI cannot be reached the tests FAIL: CI must run them.
"""

import fcntl
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache"
VENV = CACHE / "mxcube-client"
LOCK = CACHE / "mxcube-client.lock"
STAMP = VENV / "mxcube-stamp.json"

MXCUBECORE = "mxcubecore==2.149.0"
# What `from mxcubecore.HardwareObjects.abstract.PyISPyBDataAdapter import PyISPyBDataAdapter` imports.
IMPORT_CHAIN = [
    "requests",
    "pydantic>=2.8.2,<2.9",
    "colorama",
    "gevent",
    "PyDispatcher",
    "ruamel.yaml>=0.17.21,<0.18",
    "scipy",
]
SMOKE = (
    "from mxcubecore.HardwareObjects.abstract.PyISPyBRestClient import PyISPyBRestClient\n"
    "from mxcubecore.HardwareObjects.abstract.PyISPyBDataAdapter import PyISPyBDataAdapter\n"
)
PIP_TIMEOUT = 900  # seconds for each pip command; a build takes ~15 s with a warm pip cache
NETWORK_HINTS = (
    "Could not find a version",
    "No matching distribution",
    "NewConnectionError",
    "Max retries exceeded",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "Connection refused",
    "ReadTimeoutError",
    "ConnectTimeoutError",
)


def _python() -> Path:
    return VENV / "bin" / "python"


def _stamp() -> dict:
    return {"python": list(sys.version_info[:3]), "packages": [MXCUBECORE, *IMPORT_CHAIN]}


def _usable() -> bool:
    if not _python().exists() or not STAMP.exists():
        return False
    try:
        if json.loads(STAMP.read_text()) != _stamp():
            return False
    except ValueError:
        return False
    smoke = subprocess.run([str(_python()), "-I", "-c", SMOKE], capture_output=True, timeout=120)
    return smoke.returncode == 0


def _run(step: str, command: list[str]) -> None:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"Building MXCuBE's client venv: {step} took over {PIP_TIMEOUT} s (is PyPI reachable?)")
    if result.returncode != 0:
        output = (result.stdout + result.stderr)[-4000:]
        cause = "PyPI looks unreachable" if any(hint in output for hint in NETWORK_HINTS) else "it failed"
        pytest.fail(
            f"Building MXCuBE's client venv in {VENV}: {step} exited {result.returncode} ({cause}).\n"
            f"Command: {' '.join(command)}\n{output}",
            pytrace=False,
        )


def _build() -> None:
    shutil.rmtree(VENV, ignore_errors=True)
    _run("venv", [sys.executable, "-m", "venv", str(VENV)])
    pip = [
        str(_python()),
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "-q",
        "--retries",
        "3",
        "--timeout",
        "60",
    ]
    _run(f"pip install {MXCUBECORE}", [*pip, "--no-deps", MXCUBECORE])
    _run("pip install of the client's import chain", [*pip, *IMPORT_CHAIN])
    smoke = subprocess.run([str(_python()), "-I", "-c", SMOKE], capture_output=True, text=True, timeout=120)
    if smoke.returncode != 0:
        pytest.fail(f"MXCuBE's client does not import in {VENV}:\n{smoke.stderr[-4000:]}", pytrace=False)
    STAMP.write_text(json.dumps(_stamp()))


@pytest.fixture(scope="session")
def mxcube_python() -> Path:
    """The python of a venv where MXCuBE's ``PyISPyBRestClient`` and ``PyISPyBDataAdapter`` import."""
    CACHE.mkdir(exist_ok=True)
    with LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another pytest may be building it: wait for it, then reuse it
        try:
            if not _usable():
                _build()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return _python()
