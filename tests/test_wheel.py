"""The package as a user installs it: a wheel (not the editable checkout) in a fresh venv runs the
monthly job from any folder — notebooks, templates, fonts and reference data ship inside it.

The fresh venv gets the wheel itself; its dependencies are borrowed from the test environment by a
``.pth`` line (installing pandas, jupyterlab … again would take minutes and the network). The
test venv's editable ``vaxreport`` cannot leak in: a path added by a ``.pth`` line is not a site
folder, so the editable install's own ``.pth`` finder there is never run — and the test checks
where ``vaxreport`` and the notebook kernel come from.
"""

from __future__ import annotations

import json
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.notebooks


def _run(args: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    assert res.returncode == 0, f"{args} failed ({res.returncode}):\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    return res


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp / "dist"), str(ROOT)], cwd=tmp)
    (wheel,) = (tmp / "dist").glob("vaxreport-*.whl")
    env = tmp / "venv"
    venv.create(env, with_pip=False)
    py = env / "bin" / "python"
    purelib = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                        cwd=tmp).stdout.strip())
    (purelib / "borrowed-dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n", encoding="utf-8")
    _run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--quiet", str(wheel)], cwd=tmp)
    _run([str(py), "-m", "ipykernel", "install", "--sys-prefix", "--name", "python3"], cwd=tmp)
    return env


def test_the_wheel_ships_notebooks_templates_fonts_and_data(wheel_venv: Path, tmp_path: Path) -> None:
    py = str(wheel_venv / "bin" / "python")
    probe = ("import vaxreport, vaxreport.runner as r, vaxreport.refdata as d\n"
             "import vaxreport.reporting.report.render as rr\n"
             "from jupyter_client.kernelspec import KernelSpecManager\n"
             "print(vaxreport.__file__); print(r.notebooks_dir()); print(rr.FONTS_DIR)\n"
             "print(len(d.admin_units('19'))); print(KernelSpecManager().get_kernel_spec('python3').argv[0])")
    package, notebooks, fonts, units, kernel = _run([py, "-c", probe], cwd=tmp_path).stdout.split("\n")[:5]
    assert str(wheel_venv) in package and str(ROOT) not in package
    assert str(wheel_venv) in notebooks and (Path(notebooks) / "cleanse.ipynb").is_file()
    assert sorted(p.suffix for p in Path(fonts).glob("*.otf")) == [".otf"] * 4
    assert int(units) > 100
    assert kernel.startswith(str(wheel_venv))


def test_the_wheel_runs_the_demo_from_another_folder(wheel_venv: Path, tmp_path: Path) -> None:
    res = _run([str(wheel_venv / "bin" / "vaxreport"), "demo", "--scale", "0.002", "--out", "demo", "--jobs", "1"],
               cwd=tmp_path, timeout=900)
    run = tmp_path / "demo" / "run"
    assert "11/11 notebooks succeeded" in res.stdout
    assert len(list(run.glob("districts/*/report.pdf"))) == 9 and (run / "province" / "report.pdf").is_file()
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["ok"] and manifest["git_commit"] is None  # a wheel, not a checkout
