"""Tests of the synthetic province (``vaxreport.synth``) at small scales."""

from __future__ import annotations

import dataclasses
import hashlib
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import phonenumbers
import pytest

from vaxreport import params, refdata, schemas, synth, text

SCALE = 0.002


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth")
    synth.generate(out, scale=SCALE, seed=7)
    return out


@pytest.fixture(scope="module")
def noisy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every error rate raised so that each kind shows up at a tiny scale."""
    base = synth.ErrorRates()
    boosted = {f.name: min(0.25, getattr(base, f.name) * 5) for f in dataclasses.fields(base)}
    out = tmp_path_factory.mktemp("noisy")
    synth.generate(out, scale=0.003, seed=11, rates=synth.ErrorRates(**boosted))
    return out


@pytest.fixture(scope="module")
def doses(province: Path) -> pd.DataFrame:
    return _canonical(_csv(province / "inputs" / "doses.csv"), schemas.DOSES)


@pytest.fixture(scope="module")
def truth(province: Path) -> pd.DataFrame:
    return pd.read_parquet(province / "truth" / "doses_truth.parquet")


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def _canonical(df: pd.DataFrame, schema: schemas.TableSchema) -> pd.DataFrame:
    mapping = {c: schemas.canonical_header(c, schema) for c in df.columns}
    assert None not in mapping.values(), mapping
    return df.rename(columns=mapping)


def _sha(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_layout(province: Path) -> None:
    for name in ("doses", "site_tallies", "feedback", "registry", "population"):
        assert (province / "inputs" / f"{name}.csv").is_file()
    for name in ("doses_truth.parquet", "persons_truth.parquet", "summary.json"):
        assert (province / "truth" / name).is_file()
    assert (province / "params.yaml").is_file()
    assert (province / "inputs" / "doses.csv").read_bytes()[:3] == b"\xef\xbb\xbf"


def test_totals_equal_scaled_seed_report(province: Path, doses: pd.DataFrame) -> None:
    want = synth.scaled_totals(SCALE)
    assert len(doses) == want["dose_rows"]
    signed = doses["sign_status"].map(lambda v: schemas.DOSES.vocab["sign_status"][schemas.header_key(v)])
    assert (signed == "signed").sum() == want["signed"]
    tallies = _canonical(_csv(province / "inputs" / "site_tallies.csv"), schemas.SITE_TALLIES)
    assert tallies["doses_administered"].astype(int).sum() == want["doses_administered"]
    fb = _canonical(_csv(province / "inputs" / "feedback.csv"), schemas.FEEDBACK)
    status = fb["status"].map(lambda v: schemas.FEEDBACK.vocab["status"][schemas.header_key(v)])
    assert len(fb) == want["feedback"] and status.isin(["approved", "rejected"]).all()
    reg = _canonical(_csv(province / "inputs" / "registry.csv"), schemas.REGISTRY)
    assert len(reg) == want["registry"]


def test_files_load_with_schema_aliases(province: Path) -> None:
    for schema in schemas.TABLES.values():
        df = _canonical(_csv(province / "inputs" / f"{schema.name}.csv"), schema)
        assert set(schema.required) <= set(df.columns), schema.name
        for col, vocab in schema.vocab.items():
            if col in df.columns:
                keys = df[col].map(schemas.header_key)
                assert keys.isin(list(vocab)).all(), (schema.name, col, set(keys) - set(vocab))


def test_params_yaml_loads(province: Path) -> None:
    p = params.RunParams.from_yaml(province / "params.yaml")
    assert p.inputs == (province / "inputs").resolve()
    assert str(p.period_end) == "2022-05-31" and p.province_code == "19"
    assert len(p.districts) == 9


def test_same_seed_same_bytes(province: Path, tmp_path: Path) -> None:
    synth.generate(tmp_path, scale=SCALE, seed=7)
    assert _sha(tmp_path) == _sha(province)


def test_chunks_do_not_change_the_rows(province: Path, tmp_path: Path) -> None:
    """The line list is written chunk by chunk: one chunk or many give the same doses.csv and the
    same truth (the truth's row groups follow the chunks: its rows, not its bytes, are compared)."""
    import pyarrow.parquet as pq

    n = synth.scaled_totals(SCALE)["dose_rows"]
    outs = {}
    for chunk in (n + 1, 97):
        out = tmp_path / f"c{chunk}"
        synth.generate(out, scale=SCALE, seed=7, chunk=chunk)
        outs[chunk] = out
        assert pq.ParquetFile(out / "truth" / "doses_truth.parquet").num_row_groups == -(-n // chunk)
    one, many = _sha(outs[n + 1]), _sha(outs[97])
    assert {k: v for k, v in one.items() if k != "truth/doses_truth.parquet"} == \
        {k: v for k, v in many.items() if k != "truth/doses_truth.parquet"}
    assert one == _sha(province)  # the default chunk holds the whole tiny province
    truth = [pq.read_table(o / "truth" / "doses_truth.parquet") for o in outs.values()]
    assert truth[0].equals(truth[1]) and truth[0].num_rows == n


def test_truth_aligns_with_rows(province: Path, doses: pd.DataFrame, truth: pd.DataFrame) -> None:
    assert truth["record_id"].tolist() == doses["record_id"].tolist()
    assert truth["record_id"].is_unique
    assert truth["person_ref"].tolist() == doses["person_ref"].tolist()
    dups = truth["dup_of"].dropna()
    assert dups.isin(set(truth["record_id"])).all()
    assert (truth["dup_of"].notna() == truth["errors"].str.contains("dose_duplicate")).all()
    persons = pd.read_parquet(province / "truth" / "persons_truth.parquet")
    assert set(persons["person_ref"]) == set(truth["person_ref"])
    kinds = {k for e in truth["errors"] for k in e.split(";") if k}
    assert kinds <= set(synth.ERROR_KINDS)


def _date(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s, format="%d/%m/%Y", errors="coerce")


def test_every_error_kind_appears_with_its_true_value(noisy: Path) -> None:
    doses = _canonical(_csv(noisy / "inputs" / "doses.csv"), schemas.DOSES)
    truth = pd.read_parquet(noisy / "truth" / "doses_truth.parquet")
    err = truth["errors"].str.split(";")
    has = {k: err.map(lambda e, k=k: k in e) for k in synth.ERROR_KINDS}
    for kind, mask in has.items():
        assert mask.any(), f"{kind} never injected"
    first = ~truth["errors"].str.contains("duplicate")
    # the raw value differs from the true one in the way the kind says
    for kind in ("name_typo", "name_no_diacritics", "name_nfd", "name_case_spacing", "name_incomplete"):
        m = has[kind]
        assert (doses.loc[m, "full_name"] != truth.loc[m, "true_full_name"]).all(), kind
    m = has["name_no_diacritics"]
    assert doses.loc[m, "full_name"].map(str.isascii).all()
    m = has["name_nfd"]
    assert (doses.loc[m, "full_name"].map(lambda s: unicodedata.normalize("NFC", s))
            == truth.loc[m, "true_full_name"]).all()
    for kind, enc in (("name_tcvn3", "tcvn3"), ("name_vni", "vni")):
        m = has[kind]
        # a few renderings are valid Vietnamese too ("Vũ" -> "Vò" in TCVN3): detection can miss them
        detected = doses.loc[m, "full_name"].map(text.detect_legacy) == enc
        assert detected.mean() > 0.9, kind
        m = m & detected.reindex(doses.index, fill_value=False)
        assert (doses.loc[m, "full_name"].map(text.to_unicode) == truth.loc[m, "true_full_name"]).all()
    m = has["birth_date_swapped"] & doses["birth_date"].str.match(r"^\d\d/\d\d/\d{4}$")
    raw = _date(doses.loc[m, "birth_date"])
    assert (raw.dt.day == truth.loc[m, "true_birth_date"].dt.month).all()
    assert (raw.dt.month == truth.loc[m, "true_birth_date"].dt.day).all()
    for kind in ("id_missing", "id_malformed", "id_digit_error", "id_excel_scientific",
                 "id_leading_zero_lost", "id_other_document"):
        m = has[kind]
        assert (doses.loc[m, "id_number"] != truth.loc[m, "true_id_number"]).all(), kind
    m = has["id_of_relative"]
    assert (doses.loc[m, "id_number"] != truth.loc[m, "true_id_number"].fillna("")).all()
    assert doses.loc[has["id_excel_scientific"], "id_number"].str.contains("E+", regex=False).all()
    for kind in ("phone_missing", "phone_old_11_digit", "phone_country_code", "phone_malformed",
                 "phone_other"):
        m = has[kind]
        assert (doses.loc[m, "phone"] != truth.loc[m, "true_phone"]).all(), kind
    assert (doses.loc[has["phone_old_11_digit"], "phone"].str.len() == 11).all()
    m = has["gender_wrong"]
    assert (doses.loc[m, "gender"].map({"Nam": "F", "Nữ": "M"}) == truth.loc[m, "true_gender"]).all()
    for kind in ("dose_date_swapped", "dose_date_future", "dose_date_before_birth",
                 "dose_date_impossible"):
        m = has[kind] & doses["dose_date"].str.match(r"^\d\d/\d\d/\d{4}$")
        assert m.any(), kind
        raw = _date(doses.loc[m, "dose_date"])
        assert (raw != truth.loc[m, "true_dose_date"]).all(), kind
    assert _date(doses.loc[has["dose_date_impossible"], "dose_date"]).isna().all()
    m = has["dose_date_future"] & doses["dose_date"].str.match(r"^\d\d/\d\d/\d{4}$")
    assert (_date(doses.loc[m, "dose_date"]) > pd.Timestamp("2022-05-31")).all()
    m = has["dose_date_before_birth"] & doses["dose_date"].str.match(r"^\d\d/\d\d/\d{4}$")
    assert (_date(doses.loc[m, "dose_date"]) < truth.loc[m, "true_birth_date"]).all()
    m = has["vaccine_alias"]
    assert (doses.loc[m, "vaccine"] != truth.loc[m, "true_vaccine"]).all()
    m = has["dose_number_wrong"] & first & doses["dose_number"].str.fullmatch(r"\d")
    assert (doses.loc[m, "dose_number"].astype(int) != truth.loc[m, "true_dose_number"]).all()
    m = has["commune_moved"]
    assert (doses.loc[m, "commune_code"] != truth.loc[m, "true_commune_code"]).all()
    m = has["duplicate_person"]
    refs = truth.groupby("person_id")["person_ref"].nunique()
    assert (refs.loc[truth.loc[m, "person_id"].unique()] >= 2).all()


def test_clean_rows_match_truth(doses: pd.DataFrame, truth: pd.DataFrame) -> None:
    clean = truth["errors"].eq("")
    assert clean.mean() > 0.7
    d, t = doses[clean], truth[clean]
    assert (d["full_name"] == t["true_full_name"]).all()
    assert (d["id_number"].replace("", None).fillna("-") == t["true_id_number"].fillna("-")).all()
    assert (d["vaccine"] == t["true_vaccine"]).all()
    plain = d["dose_date"].str.match(r"^\d\d/\d\d/\d{4}$")
    assert (_date(d.loc[plain, "dose_date"]) == t.loc[plain, "true_dose_date"]).all()


def test_ids_consistent_with_birth_and_sex(doses: pd.DataFrame, truth: pd.DataFrame) -> None:
    ids = truth["true_id_number"].dropna()
    cccd = truth.loc[ids.index][ids.str.len() == 12]
    year = cccd["true_birth_date"].dt.year
    g = cccd["true_id_number"].str[3].astype(int)
    assert (g // 2 == (year - 1900) // 100).all()
    assert ((g % 2 == 1) == (cccd["true_gender"] == "F")).all()
    assert (cccd["true_id_number"].str[4:6].astype(int) == year % 100).all()
    codes = set(refdata.cccd_provinces()["cccd_code"])
    assert cccd["true_id_number"].str[:3].isin(codes).all()
    assert (cccd["true_id_number"].str[:3] == "019").mean() > 0.7
    # un-corrupted raw rows carry the true ID
    ok = ~truth["errors"].str.contains("id_") & truth["true_id_number"].notna()
    assert (doses.loc[ok, "id_number"] == truth.loc[ok, "true_id_number"]).all()
    # one person, one ID
    per_id = truth.dropna(subset=["true_id_number"]).groupby("true_id_number")["person_id"].nunique()
    assert (per_id == 1).all()


def test_phones_are_valid_and_households_share(truth: pd.DataFrame) -> None:
    phones = truth["true_phone"].dropna().unique()
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(p, "VN")) for p in phones[:500])
    shared = truth.dropna(subset=["true_phone"]).groupby("true_phone")["person_id"].nunique()
    assert (shared > 1).mean() > 0.05


def test_names_and_ages_are_plausible(truth: pd.DataFrame) -> None:
    persons = truth.drop_duplicates("person_id")
    surname = persons["true_full_name"].str.split().str[0]
    assert 0.28 < (surname == "Nguyễn").mean() < 0.45
    assert surname.isin(["Ma", "Nông", "Triệu", "Hà", "La", "Lường", "Lục"]).any()
    assert persons["true_full_name"].str.split().str[-1].nunique() > 150
    age = (pd.Timestamp("2022-05-31") - persons["true_birth_date"]).dt.days / 365.25
    assert age.min() >= 5 and age.max() < 100
    kids = truth[(truth["true_dose_date"] - truth["true_birth_date"]).dt.days < 12 * 365]
    assert kids["true_vaccine"].isin(["Pfizer", "Moderna"]).all()
    assert (kids["true_dose_date"] >= pd.Timestamp("2022-04-01")).all()
    monthly = truth.groupby(truth["true_dose_date"].dt.to_period("M")).size()
    assert monthly.idxmax() in {pd.Period(m) for m in ("2021-09", "2021-10", "2021-11", "2021-12")}


def test_scale_rejects_nonpositive(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        synth.generate(tmp_path, scale=0)
    assert np.isfinite(synth.scaled_totals(3.0)["dose_rows"])


def test_hard_cases_for_dedup_exist(noisy: Path) -> None:
    """DESIGN.md's lessons: duplicates agreeing on little, and look-alike family members."""
    doses = _canonical(_csv(noisy / "inputs" / "doses.csv"), schemas.DOSES)
    truth = pd.read_parquet(noisy / "truth" / "doses_truth.parquet")
    second = truth["errors"].str.contains("duplicate_person")
    no_id = doses["id_number"].eq("") | truth["errors"].str.contains("id_missing|id_other_document")
    no_phone = truth["errors"].str.contains("phone_other|phone_missing")
    name = truth["errors"].str.contains("name_")
    moved_or_swapped = truth["errors"].str.contains("commune_moved|birth_date_swapped")
    assert (second & no_id & no_phone & name & moved_or_swapped).any()
    # twins: same household phone, surname and birth date, different persons
    persons = truth.drop_duplicates("person_id").dropna(subset=["true_phone"])
    key = [persons["true_phone"], persons["true_birth_date"], persons["true_full_name"].str.split().str[0]]
    sizes = persons.groupby(key)["person_id"].nunique()
    assert (sizes >= 2).any()


@pytest.mark.slow
def test_full_scale_equals_seed_report(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Scale 1: the files reproduce Báo cáo 2102/BC-SYT's counts exactly (≈1 min)."""
    if "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("full scale: run with -m slow (make test-slow)")
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    summary = synth.generate(tmp_path, scale=1.0, seed=2022)
    doses = pacsv.read_csv(tmp_path / "inputs" / "doses.csv",
                           convert_options=pacsv.ConvertOptions(include_columns=["Trạng thái ký"]))
    assert doses.num_rows == synth.SEED_TOTALS["dose_rows"] == 2_756_537
    assert pc.sum(pc.equal(doses["Trạng thái ký"], "Đã ký")).as_py() == 2_496_793
    tallies = pacsv.read_csv(tmp_path / "inputs" / "site_tallies.csv")
    assert pc.sum(tallies["Số mũi đã tiêm"]).as_py() == 2_924_867
    assert pacsv.read_csv(tmp_path / "inputs" / "feedback.csv").num_rows == 2_628
    assert pacsv.read_csv(tmp_path / "inputs" / "registry.csv").num_rows == 200_763
    assert summary.totals["signed"] == 2_496_793


def test_error_rates_are_checked() -> None:
    with pytest.raises(ValueError, match="vaccine_alias"):
        synth.ErrorRates(vaccine_alias=1.5)
