"""Tests of ``vaxreport.cli``: what a user typing a wrong command sees.

A usage error (missing or malformed argument) exits 2 with argparse's usage line; an error in the
user's files or folders exits 1 with one line naming the problem; neither prints a traceback.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from vaxreport import cli

ROOT = Path(__file__).resolve().parents[1]
PARAMS = ROOT / "params" / "2022-05.yaml"


@pytest.fixture
def no_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """A command that should stop at its arguments fails the test instead of synthesising or running."""
    from vaxreport import runner, synth

    def ran(*args: object, **kwargs: object) -> None:
        raise AssertionError("the command ran instead of rejecting its arguments")

    for module, name in ((runner, "run"), (runner, "demo"), (synth, "generate")):
        monkeypatch.setattr(module, name, ran)


def _usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "usage: vaxreport" in err and "Traceback" not in err
    return err


@pytest.mark.parametrize("argv,message", [
    ([], "the following arguments are required: command"),
    (["frob"], "invalid choice: 'frob'"),
    (["run"], "the following arguments are required: params"),
    (["synth"], "the following arguments are required: --out"),
    (["synth", "--out", "x", "--scale", "abc"], "argument --scale: invalid number: 'abc'"),
    (["synth", "--out", "x", "--scale", "0"], "argument --scale: must be a number greater than 0, got '0'"),
    (["synth", "--out", "x", "--scale", "-1"], "argument --scale: must be a number greater than 0"),
    (["synth", "--out", "x", "--scale", "nan"], "argument --scale: must be a number greater than 0"),
    (["synth", "--out", "x", "--scale", "inf"], "argument --scale: must be a number greater than 0"),
    (["demo", "--scale", "0"], "argument --scale: must be a number greater than 0"),
    (["demo", "--jobs", "0"], "argument --jobs: must be at least 1, got '0'"),
    (["run", "p.yaml", "--jobs", "two"], "argument --jobs: invalid whole number: 'two'"),
    (["synth", "--out", "x", "--seed", "1.5"], "argument --seed: invalid int value"),
    (["synth", "--out", "x", "--provinces", "19", "06", "--shared", "2"],
     "argument --shared: must lie between 0 and 1"),
])
def test_usage_errors_exit_2_with_a_message(argv: list[str], message: str, capsys: pytest.CaptureFixture[str],
                                            no_work: None) -> None:
    assert message in _usage_error(argv, capsys)


def test_missing_params_file_exits_1_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "2022-05.yaml"
    assert cli.main(["run", str(missing)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("vaxreport run: ") and str(missing) in err and "Traceback" not in err


def test_unknown_district_exits_1_listing_the_known_ones(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", str(PARAMS), "--districts", "999", "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert "unknown district codes ['999']" in err and "164" in err
    assert not (tmp_path / "run").exists()  # nothing started


def test_an_out_folder_that_is_a_file_exits_1_naming_it(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    afile = tmp_path / "notes.txt"
    afile.write_text("mine", encoding="utf-8")
    assert cli.main(["synth", "--out", str(afile), "--scale", "0.0005"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("vaxreport synth: ") and str(afile) in err and "Traceback" not in err
    assert afile.read_text(encoding="utf-8") == "mine"
    assert cli.main(["run", str(PARAMS), "--out", str(afile)]) == 1
    assert str(afile) in capsys.readouterr().err


def test_validate_a_folder_that_does_not_exist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["validate", str(tmp_path / "nope")]) == 1
    assert "input folder not found" in capsys.readouterr().out


def test_the_installed_command_prints_no_traceback(tmp_path: Path) -> None:
    # as a user's terminal sees it: a fresh interpreter, its real stderr and exit status
    proc = subprocess.run([sys.executable, "-m", "vaxreport.cli", "synth", "--out", str(tmp_path), "--scale", "-2"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "must be a number greater than 0" in proc.stderr and "Traceback" not in proc.stderr
    assert not any(tmp_path.iterdir())  # nothing written


@pytest.mark.parametrize("argv,message", [
    (["--provinces", "19"], "give two provinces or more"),
    (["--provinces", "19", "19"], "give two provinces or more"),
    (["--provinces", "19", "99"], "'99'"),
    (["--provinces", "19", "06", "--months", "2"], "--provinces writes one month"),
])
def test_synth_provinces_refused_exits_1_writing_nothing(argv: list[str], message: str, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["synth", "--out", str(tmp_path / "two"), "--scale", "0.0005", *argv]) == 1
    err = capsys.readouterr().err
    assert err.startswith("vaxreport synth: ") and message in err and "Traceback" not in err
    assert not (tmp_path / "two").exists()


def test_synth_provinces_writes_one_export_with_its_params(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from vaxreport.params import RunParams

    assert cli.main(["synth", "--out", str(tmp_path), "--scale", "0.0005", "--provinces", "19", "06"]) == 0
    assert "movers" in capsys.readouterr().out
    p = RunParams.from_yaml(tmp_path / "params.yaml")
    assert p.province_codes() == ("19", "06") and p.inputs == (tmp_path / "inputs").resolve()
    assert (tmp_path / "truth" / "cross_province.parquet").is_file()
