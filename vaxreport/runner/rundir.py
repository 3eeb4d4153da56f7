"""The run folder as a unit of work: one run at a time (a lock), an interrupted run found and
cleared, and the manifest written last (input hashes, params, versions, git commit, timings), so
that a folder without ``manifest.json`` is visibly incomplete."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from vaxreport.exceptions import RunError
from vaxreport.io.write import sha256_file, write_json
from vaxreport.layout import MANIFEST

PACKAGE_DIR = Path(__file__).resolve().parents[1]
LOCK_NAME = ".vaxreport-run.lock"
#: Present while a run is in progress or after it was interrupted; removed after the manifest.
INCOMPLETE_NAME = "RUN-INCOMPLETE.txt"
#: Environment variable carrying the run's token to its worker and kernel processes, so that a
#: later run can wait for the orphans of a killed run before clearing the folder.
TOKEN_ENV = "VAXREPORT_RUN_TOKEN"
ORPHAN_WAIT_SECONDS = 30.0
TRACKED_PACKAGES = ("vaxreport", "pandas", "numpy", "pyarrow", "rapidfuzz", "papermill", "nbconvert",
                    "matplotlib", "typst", "phonenumbers", "openpyxl", "python-docx")


@dataclass
class NotebookRun:
    """Outcome of one executed notebook."""

    stage: str
    name: str
    output: str
    ok: bool = False
    seconds: float = 0.0
    error: str | None = None
    failed_cell: int | None = None
    outputs: dict[str, str] = field(default_factory=dict)  # relative path -> sha256

    def line(self) -> str:
        state = "ok" if self.ok else f"FAILED at cell In [{self.failed_cell}]: {self.error}"
        return f"{self.stage:<9} {self.name:<28} {self.seconds:6.1f} s  {state}"



@contextlib.contextmanager
def run_lock(out: Path, force: bool) -> Iterator[str]:
    """Claim ``out`` for this run; refuse a folder in use or already complete unless ``force``.

    An interrupted run (stale lock or no manifest) is cleared and the returned note says so; the
    processes a killed run left behind (workers, kernels) are waited for first, so that none of
    them writes into the new run. Yields the note ("" for a fresh folder).
    """
    out.mkdir(parents=True, exist_ok=True)
    lock = out / LOCK_NAME
    note = ""
    if lock.exists():
        pid, token = _read_lock(lock)
        if pid and _pid_alive(pid) and pid != os.getpid():
            raise RunError(f"{out} is in use by another vaxreport run (pid {pid}); "
                           "choose another --out or wait for it to finish")
        _wait_for_orphans(out, token)
        note = f"note: {out} holds an interrupted run (pid {pid}); starting clean"
        lock.unlink(missing_ok=True)  # two new runs may both find the stale lock: O_EXCL decides
    elif (out / MANIFEST).exists() and not _manifest_ok(out / MANIFEST):
        note = f"note: {out} holds a run that failed (see its {MANIFEST}); starting clean"
    elif (out / MANIFEST).exists() and not force:
        raise RunError(f"{out} already holds a complete run; pass --force to replace it "
                       "or choose another --out")
    elif any(p.name != LOCK_NAME for p in out.iterdir()) and not (out / MANIFEST).exists():
        note = f"note: {out} holds an incomplete run (no manifest); starting clean"
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        raise RunError(f"{out} was claimed by another vaxreport run just now; choose another --out") from None
    token = f"{os.getpid()}-{time.time_ns()}"
    with os.fdopen(fd, "w") as fh:
        fh.write(f"{os.getpid()}\n{token}\n")
    previous = os.environ.get(TOKEN_ENV)
    os.environ[TOKEN_ENV] = token  # inherited by worker processes and their kernels
    interrupted = False
    try:
        for child in out.iterdir():
            if child.name == LOCK_NAME:
                continue
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
        (out / INCOMPLETE_NAME).write_text(
            "This run has not finished (or was interrupted): its outputs are incomplete.\n"
            f"A complete run has {MANIFEST}; run vaxreport again to redo it.\n", encoding="utf-8")
        yield note
    except BaseException:
        # Ctrl-C or a crash: keep the lock (its pid is about to be dead) so that the next run
        # waits for this run's last processes and says it found an interrupted run.
        interrupted = True
        raise
    finally:
        if previous is None:
            os.environ.pop(TOKEN_ENV, None)
        else:
            os.environ[TOKEN_ENV] = previous
        if not interrupted:
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()


def _manifest_ok(path: Path) -> bool:
    """Whether a manifest records a successful run (unreadable counts as successful: keep it)."""
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("ok", True) is not False
    except (OSError, ValueError, AttributeError):
        return True


def _read_lock(lock: Path) -> tuple[int, str]:
    """(pid, token) from a lock file; 0 and "" where unreadable (older locks hold the pid only)."""
    try:
        lines = lock.read_text().split()
    except OSError:
        return 0, ""
    try:
        pid = int(lines[0]) if lines else 0
    except ValueError:
        pid = 0
    return pid, (lines[1] if len(lines) > 1 else "")


def _token_processes(token: str) -> list[int]:
    """Live processes (Linux ``/proc``) whose environment carries this run token."""
    if not token or not Path("/proc").is_dir():
        return []
    needle = f"{TOKEN_ENV}={token}".encode()
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry.name}/environ", "rb") as fh:
                env = fh.read()
        except OSError:  # gone, or another user's process
            continue
        if needle in env.split(b"\0"):
            found.append(int(entry.name))
    return found


def _wait_for_orphans(out: Path, token: str, timeout: float = ORPHAN_WAIT_SECONDS) -> None:
    """Wait until no process of the interrupted run is left (they exit when their parent dies)."""
    deadline = time.monotonic() + timeout
    while pids := _token_processes(token):
        if time.monotonic() > deadline:
            raise RunError(f"{out}: processes of an interrupted run are still running (pids {pids}); "
                           "stop them or choose another --out")
        time.sleep(0.2)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _git_commit() -> str | None:
    """The commit of the package's source when it runs from a git checkout (editable install),
    with ``-dirty`` for uncommitted changes; None for an installed wheel (its version says it)."""
    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", "-C", str(PACKAGE_DIR), *args], capture_output=True, text=True,
                              timeout=10, check=False)

    try:
        # a wheel in a venv inside some checkout must not report that checkout's commit
        if git("ls-files", "--error-unmatch", "__init__.py").returncode != 0:
            return None
        res = git("rev-parse", "HEAD")
        if res.returncode != 0:
            return None
        dirty = git("status", "--porcelain", "--untracked-files=no").stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return res.stdout.strip() + ("-dirty" if dirty else "")


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in TRACKED_PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[pkg] = metadata.version(pkg)
    return out


def write_manifest(out: Path, *, params_path: Path, params: dict[str, Any], inputs: dict[str, str],
                    notebooks: list[NotebookRun], started: datetime, seconds: float,
                    engine: dict[str, Any] | None = None) -> Path:
    manifest = {
        "vaxreport_manifest": 1,
        "started_utc": started.isoformat(timespec="seconds"),
        "seconds": round(seconds, 2),
        "ok": all(nb.ok for nb in notebooks),
        "git_commit": _git_commit(),
        "versions": _versions(),
        "params_file": str(params_path),
        "params_sha256": sha256_file(params_path),
        "params": params,
        "inputs": inputs,
        "notebooks": [asdict(nb) for nb in notebooks],
        "engine": engine,
    }
    path = out / MANIFEST
    write_json(manifest, path)
    return path
