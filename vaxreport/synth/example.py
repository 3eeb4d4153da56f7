"""The tiny example province that notebooks opened without parameters use (and nbval runs)."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from vaxreport.synth.province import generate


def example_params(scale: float = 0.001, seed: int = 7) -> Path:
    """``params.yaml`` of a tiny synthetic province, generated once into the system temporary
    folder and reused until the package's code or data change."""
    folder = Path(tempfile.gettempdir()) / f"vaxreport-example-{code_digest()}-{scale}-{seed}"
    params = folder / "params.yaml"
    if not params.exists():
        tmp = Path(tempfile.mkdtemp(prefix="vaxreport-example-"))
        generate(tmp, scale=scale, seed=seed)
        try:
            tmp.rename(folder)
        except OSError:  # another process won the race
            pass
    return params


def code_digest() -> str:
    """Short hash of the package's code and data: a cached example never outlives a code change."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for path in sorted([*root.rglob("*.py"), *root.glob("data/*.csv")]):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]
