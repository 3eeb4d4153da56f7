"""Tests of the streaming read (``io.stream_table``, ``delimited.stream_delimited``): every file
gives what the whole-file read gives — the same rows, columns, dtypes and warnings, or the same
error (file, row, column) — and a large file really is read batch by batch."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pytest
from data.make_bad_corpus import _cp1258  # Windows-1258 as exports store it (base letter + tone mark)
from input_cases import BAD, DOSE_ROWS, DOSES_VI, write_inputs

from vaxreport import io, schemas
from vaxreport.exceptions import InputDataError
from vaxreport.io.delimited import count_lines
from vaxreport.io.sniff import SAMPLE_BYTES

BLOCK = 1 << 14  # small batches: the files below are read in many
ASCII_HEADER = ["record_id", "person_ref", "full_name", "birth_date", "gender", "id_number", "phone", "district_code",
                "commune_code", "vaccine", "dose_number", "dose_date", "site_code", "sign_status", "verify_status"]


class Collect:
    """A ``TableSink`` keeping every batch, counting how often it was discarded."""

    def __init__(self, opened: list[int | None]) -> None:
        self.batches: list[pd.DataFrame] = []
        self.discarded = 0
        self.opened = opened

    def write(self, batch: pd.DataFrame) -> None:
        self.batches.append(batch)

    def discard(self) -> None:
        self.batches.clear()
        self.discarded += 1

    def finish(self, dropped: Sequence[str]) -> pd.DataFrame:
        return pd.concat(self.batches, ignore_index=True).drop(columns=list(dropped))


def _stream(path: Path, schema: schemas.TableSchema = schemas.DOSES) -> tuple[pd.DataFrame, list[str], list[Collect]]:
    sinks: list[Collect] = []
    opened: list[int | None] = []

    def open_sink(_path: Path, rows: int | None) -> Collect:
        opened.append(rows)
        sinks.append(Collect(opened))
        return sinks[-1]

    df, raw, warns = io.stream_table(path, schema, open_sink, block_size=BLOCK)
    assert raw.frame.empty
    return df, warns, sinks


def _whole(path: Path, schema: schemas.TableSchema = schemas.DOSES) -> tuple[pd.DataFrame, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = io.load_table(path, schema)
    return df, [str(w.message) for w in caught if issubclass(w.category, io.InputWarning)]


def _same_as_whole(path: Path, *, streamed: bool = True) -> list[Collect]:
    """Stream ``path``: the whole-file read's frame and warnings; ``streamed``: in several batches
    with no fall-back to the whole-file read."""
    df, warns, sinks = _stream(path)
    whole, whole_warns = _whole(path)
    pd.testing.assert_frame_equal(df, whole, check_exact=True)
    assert warns == whole_warns
    if streamed:
        assert len(sinks) == 1 and sinks[0].discarded == 0 and len(sinks[0].batches) > 1
    return sinks


def _same_error(path: Path) -> None:
    with pytest.raises(InputDataError) as whole:
        io.load_table(path, schemas.DOSES)
    with pytest.raises(InputDataError) as streamed:
        _stream(path)
    assert type(streamed.value) is type(whole.value)
    assert str(streamed.value) == str(whole.value)
    assert (streamed.value.row, streamed.value.column) == (whole.value.row, whole.value.column)


def _rows(n: int, *, start: int = 0) -> list[list[str]]:
    """``n`` dose rows (two alternating templates, unique record ids)."""
    return [[f"R{start + i}", *DOSE_ROWS[i % 2][1:]] for i in range(n)]


def _write(path: Path, lines: list[list[str]], *, sep: str = ",", encoding: str = "utf-8-sig") -> Path:
    text = "\n".join(sep.join(r) for r in lines) + "\n"
    path.write_bytes(_cp1258(text) if encoding == "cp1258" else text.encode(encoding))
    return path


@pytest.mark.parametrize("name", sorted(p.name for p in BAD.glob("*.csv")))
def test_every_file_of_the_bad_corpus_streams_as_it_loads(name: str) -> None:
    """Each file of the corpus: the same table and warnings, or the same error."""
    try:
        whole, whole_warns = _whole(BAD / name)
    except InputDataError:
        _same_error(BAD / name)
        return
    df, warns, _ = _stream(BAD / name)
    pd.testing.assert_frame_equal(df, whole, check_exact=True)
    assert warns == whole_warns


def test_a_large_export_is_read_in_batches(tmp_path: Path) -> None:
    _same_as_whole(_write(tmp_path / "doses.csv", [DOSES_VI, *_rows(2_000)]))


def test_title_rows_blank_lines_and_quoted_newlines(tmp_path: Path) -> None:
    rows = _rows(3_000)
    for i in range(0, 3_000, 7):
        rows[i][2] = '"Nguyễn\nVăn, ""An"""'  # a quoted newline, delimiter and quote in a name
    lines = [[r"DANH SÁCH TIÊM"], [""], DOSES_VI, *rows[:1_000], [""], [""], *rows[1_000:]]
    sinks = _same_as_whole(_write(tmp_path / "doses.csv", lines))
    assert pd.concat(sinks[0].batches).full_name.iloc[0] == 'Nguyễn\nVăn, "An"'


def test_excel_text_formulas_in_every_batch(tmp_path: Path) -> None:
    rows = _rows(2_000)
    for r in rows:
        r[6] = f'"=""{r[6]}"""'
    sinks = _same_as_whole(_write(tmp_path / "doses.csv", [DOSES_VI, *rows]))
    assert set(pd.concat(sinks[0].batches).phone) == {"0912345678", "0987654321"}


@pytest.mark.parametrize("encoding", ["cp1258", "utf-16", "utf-8"])
def test_encodings_stream(tmp_path: Path, encoding: str) -> None:
    _same_as_whole(_write(tmp_path / "doses.csv", [DOSES_VI, *_rows(2_000)], sep=";", encoding=encoding))


def _utf8_then(tmp_path: Path, tail: bytes, *, name: str = "Nguyen Van An") -> Path:
    """An export whose first megabyte is UTF-8 (ASCII if ``name`` is) and whose last rows are ``tail``."""
    header = ",".join(ASCII_HEADER).encode() + b"\n"
    row = f"R{{}},P1,{name},01/02/1980,Nam,019080000123,0912345678,164,05443,Pfizer,1,15/05/2022,S01,1,\n".encode()
    n = SAMPLE_BYTES // len(row) + 500
    body = b"".join(row.replace(b"{}", str(i).encode()) for i in range(n))
    path = tmp_path / "doses.csv"
    path.write_bytes(header + body + tail)
    return path


def test_legacy_encoding_after_the_first_megabyte_falls_back_to_the_whole_read(tmp_path: Path) -> None:
    """cp1258 bytes past the sniffed megabyte: the stream stops, the whole-file read re-reads the
    file as cp1258, the sink gets its rows after discarding the streamed ones."""
    tail = b"".join(_cp1258(",".join([f"X{i}", "P9", "Nguyễn Văn An", *DOSE_ROWS[1][3:]]) + "\n")
                    for i in range(30_000))
    path = _utf8_then(tmp_path, tail)
    sinks = _same_as_whole(path, streamed=False)
    assert [s.discarded for s in sinks] == [1, 0] and sinks[0].opened == [None, len(pd.concat(sinks[1].batches))]


def test_a_few_corrupt_bytes_after_the_first_megabyte_name_the_row(tmp_path: Path) -> None:
    corrupt = b"Rx,P1,Nguy\xe0n,01/02/1980,Nam,,,164,05443,Pfizer,1,15/05/2022,S01,1,\n"  # one cp1258 byte
    _same_error(_utf8_then(tmp_path, corrupt, name="Nguyễn Văn An"))


def test_a_malformed_row_in_a_late_batch_names_its_row(tmp_path: Path) -> None:
    rows = _rows(3_000)
    rows[2_500] = rows[2_500][:5]
    _same_error(_write(tmp_path / "doses.csv", [DOSES_VI, [""], *rows]))


def test_an_unknown_status_in_a_late_batch_names_its_row_and_column(tmp_path: Path) -> None:
    rows = _rows(3_000)
    rows[2_900][13] = "Đang ký"
    _same_error(_write(tmp_path / "doses.csv", [DOSES_VI, *rows]))


@pytest.mark.parametrize("filled_at", [None, 2_900])
def test_a_column_without_header_is_kept_only_if_a_batch_fills_it(tmp_path: Path, filled_at: int | None) -> None:
    """Trailing columns with an empty header: dropped when empty in every row (so also in the
    files of a ``BucketWriter``), kept as ``unnamed_<letter>`` with its warning when any row fills
    it, however late."""
    rows = [[*r, "", ""] for r in _rows(3_000)]
    if filled_at is not None:
        rows[filled_at][-1] = "ghi chú"
    _same_as_whole(_write(tmp_path / "doses.csv", [[*DOSES_VI, "", ""], *rows]))
    df, warns, _ = _stream(tmp_path / "doses.csv")
    assert ("unnamed_Q" in df) == (filled_at is not None) and "unnamed_P" not in df
    assert len(warns) == (filled_at is not None)


def test_xlsx_is_read_whole_and_given_as_one_batch() -> None:
    df, _, sinks = _stream(BAD / "two_row_header.xlsx")
    pd.testing.assert_frame_equal(df, io.load_table(BAD / "two_row_header.xlsx", schemas.DOSES), check_exact=True)
    assert [s.discarded for s in sinks] == [1, 0] and len(sinks[1].batches) == 1 and sinks[0].opened == [None, len(df)]


def test_load_inputs_with_a_sink_keeps_sources_and_warnings(tmp_path: Path) -> None:
    rows = [[*r, "x"] for r in _rows(2_000)]
    folder = write_inputs(tmp_path / "in", "\n".join(",".join(r) for r in [[*DOSES_VI, "Ghi chú"], *rows]) + "\n")
    whole = io.load_inputs(folder)
    sinks: list[Collect] = []
    streamed = io.load_inputs(folder, sinks={"doses": lambda path, rows: sinks.append(Collect([])) or sinks[-1]})
    assert streamed.sources == whole.sources and streamed.warnings == whole.warnings and whole.warnings
    pd.testing.assert_frame_equal(streamed.doses, whole.doses, check_exact=True)
    for name in ("site_tallies", "feedback", "registry", "population"):
        pd.testing.assert_frame_equal(streamed.table(name), whole.table(name), check_exact=True)


def test_count_lines_is_at_least_the_rows(tmp_path: Path) -> None:
    path = _write(tmp_path / "doses.csv", [["TITLE"], DOSES_VI, *_rows(500), [""]], encoding="utf-16")
    assert count_lines(path) >= len(io.load_table(path, schemas.DOSES)) == 500
