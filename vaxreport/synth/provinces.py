"""Several synthetic provinces in one export, with people vaccinated in more than one of them.

The Ministry's national team runs several provinces' exports together; a person who worked in one
province and went home to another (Hà Nội, then Thái Nguyên) has dose records in both under two
person codes, typed by two clerks. :func:`generate_provinces` writes such an export:

1. each province alone (:func:`vaxreport.synth.province.generate`, seed ``seed + i``, its codes
   prefixed ``9<province code>`` so that no two provinces share a record id or person code — the
   platform's codes are national), kept under ``DIR/provinces/<code>/``;
2. a share ``shared`` of the first province's vaccinated persons with two doses or more are
   *movers*: their first ``k`` doses (1 ≤ k < their doses) were given in another province (the
   next ones in turn): those dose rows leave the first province's line list and join the other's,
   under one new person code, at the station of a commune there, with the name, birth date, ID
   and phone as that province's clerk typed them (from the truth: some names without diacritics,
   some IDs and phones left out); the site tallies follow the doses;
3. for a share ``copied`` of the movers, dose ``k`` was also entered at home (a duplicate: same
   date and vaccine, the home station, under the home person code);
4. ``DIR/inputs/`` holds every table of all provinces joined, ``DIR/params.yaml`` the first
   province's params with ``provinces:``, ``DIR/truth/`` the joined truth (``person_id`` says
   which records are the same person across provinces; ``dup_of`` the duplicates) and
   ``cross_province.parquet`` (one row per mover: ``person_id, home, away, away_ref, doses_away,
   copied``).

Examples:
    >>> _week_start(pd.Series(pd.to_datetime(["2021-07-21", "2021-07-26"]))).tolist()
    ['19/07/2021', '26/07/2021']
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from vaxreport import refdata
from vaxreport.synth import export
from vaxreport.synth.errors import ErrorRates
from vaxreport.synth.province import generate
from vaxreport.synth.seed import PERIOD_END, SynthProvince

__all__ = ["MoverRates", "generate_provinces", "link_scores"]

TABLES = ("doses", "site_tallies", "feedback", "registry", "population")
H = export.DOSE_HEADERS


@dataclass(frozen=True)
class MoverRates:
    """How often the other province's clerk typed a mover's record differently from the truth.

    Attributes:
        shared: share of the first province's vaccinated persons with doses in another province.
        copied: share of movers whose last dose away was also entered at home (a duplicate).
        no_diacritics: name typed without diacritics; ``no_id``: ID left out; ``no_phone``:
            phone left out.
    """

    shared: float = 0.03
    copied: float = 0.3
    no_diacritics: float = 0.1
    no_id: float = 0.25
    no_phone: float = 0.4


def _read_csv(path: Path) -> pd.DataFrame:
    """A synthetic CSV as text columns (empty cells null)."""
    opts = pacsv.ConvertOptions(strings_can_be_null=True, quoted_strings_can_be_null=False,
                                column_types={name: pa.string() for name in _header(path)})
    return pacsv.read_csv(path, convert_options=opts).to_pandas()


def _header(path: Path) -> list[str]:
    with open(path, encoding="utf-8-sig") as fh:
        return [h.strip('"') for h in fh.readline().rstrip("\n").split(",")]


def _write_csv(df: pd.DataFrame, path: Path, *, bom: bool = False) -> None:
    table = pa.Table.from_pandas(df, preserve_index=False)
    with open(path, "wb") as fh:
        if bom:
            fh.write(b"\xef\xbb\xbf")
        pacsv.write_csv(table, fh, pacsv.WriteOptions(include_header=True, quoting_style="needed"))


def _week_start(dates: pd.Series) -> pd.Series:
    """The Monday of each date's week as the tallies write it (dd/mm/yyyy)."""
    return (dates - pd.to_timedelta(dates.dt.day_of_week, unit="D")).dt.strftime("%d/%m/%Y")


def _unaccented(name: str) -> str:
    """"Nguyễn Văn Đức" → "Nguyen Van Duc"."""
    s = unicodedata.normalize("NFD", name).replace("đ", "d").replace("Đ", "D")
    return "".join(ch for ch in s if unicodedata.category(ch) != "Mn")


def _movers(truth: pd.DataFrame, share: float, rng: np.random.Generator) -> pd.DataFrame:
    """The movers of the home province: ``person_id``, ``doses`` (their dose rows entered, not
    counting duplicates) and ``k``: the doses up to the ``k``-th of their true sequence were
    given away — some entered dose up to it, some after it stay at home. Drawn among the
    persons with two entered doses or more."""
    given = truth.loc[truth["dup_of"].isna(), ["person_id", "true_dose_number"]]
    last = given.groupby("person_id")["true_dose_number"].transform("max")
    counts = given.groupby("person_id").size()
    eligible = counts[counts >= 2].sort_index()
    n = min(len(eligible), int(round(share * truth["person_id"].nunique())))
    picked = eligible.iloc[np.sort(rng.choice(len(eligible), n, replace=False))]
    # k: one of the person's entered doses but the last, drawn uniformly
    cut = given.loc[given["person_id"].isin(picked.index).to_numpy() & (given["true_dose_number"] < last).to_numpy()]
    cut = cut.assign(draw=rng.random(len(cut))).sort_values(["person_id", "draw"]).drop_duplicates("person_id")
    k = cut.set_index("person_id")["true_dose_number"].reindex(picked.index)
    return pd.DataFrame({"person_id": picked.index.to_numpy(), "doses": picked.to_numpy(), "k": k.to_numpy()})


def _retype(movers: pd.DataFrame, truth: pd.DataFrame, away: SynthProvince, rates: MoverRates,
            rng: np.random.Generator) -> pd.DataFrame:
    """Each mover's record in the away province: new person code, commune and station there,
    identity as its clerk typed it (from the truth), and the error kinds of that typing."""
    units = refdata.admin_units(away.code, on=PERIOD_END.astype("datetime64[D]").item())
    n = len(movers)
    unit = units.iloc[rng.integers(0, len(units), n)].reset_index(drop=True)
    first = truth.drop_duplicates("person_id").set_index("person_id").loc[movers["person_id"]]
    plain = rng.random(n) < rates.no_diacritics
    no_id = rng.random(n) < rates.no_id
    no_phone = rng.random(n) < rates.no_phone
    names = first["true_full_name"].to_numpy(object)
    born = pd.to_datetime(first["true_birth_date"])
    kinds = np.array(["cross_province"] * n, dtype=object)
    for flag, kind in ((plain, "name_no_diacritics"), (no_id, "id_missing"), (no_phone, "phone_missing")):
        kinds = np.where(flag, kinds + ";" + kind, kinds)
    house = rng.integers(1, 300, n)
    group = rng.integers(1, 45, n)
    return pd.DataFrame({
        "person_id": movers["person_id"].to_numpy(),
        "away_ref": [f"{away.code_prefix}{90_000_000 + i}" for i in range(n)],
        H["full_name"]: np.where(plain, [_unaccented(x) for x in names], names),
        H["birth_date"]: born.dt.strftime("%d/%m/%Y").to_numpy(),
        H["gender"]: np.where(first["true_gender"].to_numpy() == "F", "Nữ", "Nam"),
        H["id_number"]: np.where(no_id, None, first["true_id_number"].to_numpy(object)),
        H["phone"]: np.where(no_phone, None, first["true_phone"].to_numpy(object)),
        H["province_code"]: away.code,
        H["district_code"]: unit["district_code"].to_numpy(),
        H["commune_code"]: unit["commune_code"].to_numpy(),
        H["address"]: [f"Số {h}, tổ {g}, {c}, {d}, {away.name}" for h, g, c, d in
                       zip(house, group, unit["commune_name"], unit["district_name"])],
        H["site_code"]: (unit["commune_code"] + "01").to_numpy(),
        H["site_name"]: ("Trạm Y tế " + unit["commune_name"]).to_numpy(),
        "kinds": kinds,
    })


TALLY_KEYS = ["Mã cơ sở tiêm", "Mã huyện", "Tuần bắt đầu"]


def _shift_tallies(tallies: pd.DataFrame, sites: pd.Series, weeks: pd.Series, district: pd.Series,
                   sign: int) -> pd.DataFrame:
    """``tallies`` with one dose more (``sign`` 1) or fewer (−1) at each (site, week); the
    site's district from ``district`` (site code → district code)."""
    delta = pd.DataFrame({TALLY_KEYS[0]: sites.to_numpy(), TALLY_KEYS[2]: weeks.to_numpy()})
    delta[TALLY_KEYS[1]] = delta[TALLY_KEYS[0]].map(district)
    delta = delta.value_counts().rename("delta").reset_index()
    merged = tallies.merge(delta, on=TALLY_KEYS, how="outer", sort=False)
    n = (pd.to_numeric(merged["Số mũi đã tiêm"]).fillna(0).astype("int64")
         + sign * merged["delta"].fillna(0).astype("int64"))
    merged["Số mũi đã tiêm"] = n.clip(lower=0).astype(str)
    return merged.loc[(n > 0).to_numpy(), tallies.columns].reset_index(drop=True)


def _move_tallies(home: pd.DataFrame, away: pd.DataFrame, moved: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The site tallies follow the doses given away (duplicates are no doses): one fewer at the
    home site's week, one more at the away station's week (its district: the commune's)."""
    given = moved.loc[moved["dup_of"].isna()]
    week = _week_start(pd.to_datetime(given["true_dose_date"]))
    district = pd.concat([home, away]).drop_duplicates(TALLY_KEYS[0]).set_index(TALLY_KEYS[0])[TALLY_KEYS[1]]
    station = pd.Series(given[H["district_code"]].to_numpy(), index=given[H["site_code"]].to_numpy())
    district = district.combine_first(station[~station.index.duplicated()])
    return (_shift_tallies(home, given["home_site"], week, district, -1),
            _shift_tallies(away, given[H["site_code"]], week, district, 1))


def generate_provinces(out: Path, codes: tuple[str, ...] = ("19", "06"), *, scale: float = 1.0, seed: int = 2022,
                       rates: ErrorRates | None = None, movers: MoverRates | None = None) -> dict[str, int]:
    """Write the provinces ``codes`` as one export with cross-province persons (see the module
    docstring); returns the counts also written to ``truth/cross_province.json``.

    Raises:
        ValueError: fewer than two provinces, a province listed twice, or one not in the admin table.

    Examples:
        >>> import tempfile
        >>> c = generate_provinces(Path(tempfile.mkdtemp()), scale=0.0005, seed=1)
        >>> c["movers"] > 0, c["dose_rows"] == c["dose_rows_19"] + c["dose_rows_06"]
        (True, True)
    """
    if len(codes) < 2 or len(set(codes)) < len(codes):
        raise ValueError(f"give two provinces or more, each once; got {list(codes)}")
    movers = movers or MoverRates()
    out = Path(out)
    provinces = [SynthProvince.of(code, code_prefix=f"9{code}") for code in codes]
    for i, prov in enumerate(provinces):
        generate(out / "provinces" / prov.code, scale=scale, seed=seed + i, rates=rates, province=prov)
    read = {p.code: {t: _read_csv(out / "provinces" / p.code / "inputs" / f"{t}.csv") for t in TABLES}
            for p in provinces}
    truth = {p.code: pd.read_parquet(out / "provinces" / p.code / "truth" / "doses_truth.parquet") for p in provinces}
    home = provinces[0]
    rng = np.random.default_rng([seed, 6])
    mv = _movers(truth[home.code], movers.shared, rng)
    away_of = np.array([provinces[1 + i % (len(provinces) - 1)].code for i in range(len(mv))])
    records = pd.concat([_retype(mv[away_of == p.code], truth[home.code], p, movers, rng)
                         for p in provinces[1:]], ignore_index=True)
    counts = _apply_moves(read, truth, mv, records, home, rng, movers.copied)
    _write(out, read, truth, provinces)
    mv = mv.merge(records[["person_id", "away_ref", H["province_code"]]], on="person_id")
    pd.DataFrame({"person_id": mv["person_id"], "home": home.code, "away": mv[H["province_code"]],
                  "away_ref": mv["away_ref"], "doses_away": mv["k"].astype("int64"),
                  "copied": mv["person_id"].isin(counts.pop("copied_ids"))}).to_parquet(
        out / "truth" / "cross_province.parquet", index=False)
    totals = {"movers": len(mv), **counts, "dose_rows": sum(len(r["doses"]) for r in read.values()),
              **{f"dose_rows_{c}": len(r["doses"]) for c, r in read.items()}}
    (out / "truth" / "cross_province.json").write_text(json.dumps(totals, indent=2), encoding="utf-8")
    return totals


def _apply_moves(read: dict[str, dict[str, pd.DataFrame]], truth: dict[str, pd.DataFrame], mv: pd.DataFrame,
                 records: pd.DataFrame, home: SynthProvince, rng: np.random.Generator,
                 copied_share: float) -> dict:
    """Move the movers' first doses into the away provinces' tables (``read``, ``truth``:
    changed in place) and enter some of them again at home."""
    doses, t = read[home.code]["doses"], truth[home.code]
    if not doses[H["record_id"]].equals(t["record_id"]):
        raise ValueError("the line list and its truth are not in the same row order")
    k = t["person_id"].map(mv.set_index("person_id")["k"])
    moving = (k.notna() & (t["true_dose_number"] <= k)).to_numpy()
    rec = records.set_index("person_id")
    moved = doses.loc[moving].copy()
    pid = t.loc[moving, "person_id"].to_numpy()
    moved["home_site"] = moved[H["site_code"]]
    moved["dup_of"] = t.loc[moving, "dup_of"].to_numpy()
    moved["true_dose_date"] = t.loc[moving, "true_dose_date"].to_numpy()
    typed = [H[c] for c in ("full_name", "birth_date", "gender", "id_number", "phone", "province_code",
                            "district_code", "commune_code", "address", "site_code", "site_name")]
    moved[typed] = rec.loc[pid, typed].to_numpy()
    moved[H["person_ref"]] = rec.loc[pid, "away_ref"].to_numpy()
    moved_truth = t.loc[moving].copy()
    moved_truth["person_ref"] = moved[H["person_ref"]].to_numpy()
    dose_kinds = moved_truth["errors"].str.split(";").map(
        lambda ks: [x for x in ks if x.startswith(("dose_", "vaccine_"))])
    moved_truth["errors"] = [";".join([a, *b]) for a, b in zip(rec.loc[pid, "kinds"], dose_kinds)]
    # a share of the movers: the last dose away entered again at home, under the home record
    copies, copies_truth = _home_copies(doses, t, mv, moving, moved, moved_truth, home, rng, copied_share)
    read[home.code]["doses"] = pd.concat([doses.loc[~moving], copies], ignore_index=True)
    truth[home.code] = pd.concat([t.loc[~moving], copies_truth], ignore_index=True)
    for code in {str(c) for c in moved[H["province_code"]]}:
        here = (moved[H["province_code"]] == code).to_numpy()
        read[home.code]["site_tallies"], read[code]["site_tallies"] = _move_tallies(
            read[home.code]["site_tallies"], read[code]["site_tallies"], moved.loc[here])
        read[code]["doses"] = pd.concat([read[code]["doses"], moved.loc[here, doses.columns]], ignore_index=True)
        truth[code] = pd.concat([truth[code], moved_truth.loc[here]], ignore_index=True)
    return {"dose_rows_moved": int(moving.sum()), "home_copies": len(copies),
            "copied_ids": set(copies_truth["person_id"])}


def _home_copies(doses: pd.DataFrame, t: pd.DataFrame, mv: pd.DataFrame, moving: np.ndarray, moved: pd.DataFrame,
                 moved_truth: pd.DataFrame, home: SynthProvince, rng: np.random.Generator,
                 share: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """For a share of the movers, the last dose given away entered again at home: a row of the
    home line list under the person's home record (that of their next dose), at its station,
    entered the day after that dose's entry; its truth says ``dup_of`` the row moved away."""
    chosen = mv.loc[rng.random(len(mv)) < share].set_index("person_id")["k"]
    last = moved_truth["person_id"].map(chosen).eq(moved_truth["true_dose_number"]) & moved_truth["dup_of"].isna()
    source = moved.loc[last.to_numpy()]
    src_truth = moved_truth.loc[last]
    rest = t.loc[~moving & t["dup_of"].isna().to_numpy() & t["person_id"].isin(chosen.index).to_numpy()]
    nxt = rest.sort_values(["person_id", "true_dose_number"]).drop_duplicates("person_id")
    at_home = doses.loc[nxt.index]  # the home record and station of their next dose
    at_home.index = pd.Index(nxt["person_id"].to_numpy())
    pid = src_truth["person_id"].to_numpy()
    identity = [H[c] for c in ("person_ref", "full_name", "birth_date", "gender", "id_number", "phone",
                               "insurance_no", "province_code", "district_code", "commune_code", "address",
                               "site_code", "site_name")]
    copies = source[doses.columns].copy()
    copies[identity] = at_home.loc[pid, identity].to_numpy()
    copies[H["record_id"]] = [f"{home.code_prefix}{1_900_000_000 + i}" for i in range(len(copies))]
    entered = pd.to_datetime(at_home.loc[pid, H["entered_at"]], format="%d/%m/%Y %H:%M:%S") + pd.Timedelta(days=1)
    copies[H["entered_at"]] = entered.dt.strftime("%d/%m/%Y %H:%M:%S").to_numpy()
    copies[[H["sign_status"], H["signed_at"]]] = ["Chưa ký", None]
    copies_truth = src_truth.assign(record_id=copies[H["record_id"]].to_numpy(),
                                    person_ref=copies[H["person_ref"]].to_numpy(),
                                    dup_of=src_truth["record_id"].to_numpy(), errors="dose_duplicate;cross_province")
    return copies.reset_index(drop=True), copies_truth.reset_index(drop=True)


def _write(out: Path, read: dict[str, dict[str, pd.DataFrame]], truth: dict[str, pd.DataFrame],
           provinces: list[SynthProvince]) -> None:
    """``inputs/`` (every table of every province, joined), ``truth/doses_truth.parquet``,
    ``truth/persons_truth.parquet`` and ``params.yaml`` (the first province's, with ``provinces``)."""
    (out / "inputs").mkdir(parents=True, exist_ok=True)
    (out / "truth").mkdir(parents=True, exist_ok=True)
    for table in TABLES:
        joined = pd.concat([read[p.code][table] for p in provinces], ignore_index=True)
        for count in ("Số mũi đã tiêm", "Dân số"):  # numbers, written unquoted as generate does
            if count in joined:
                joined[count] = joined[count].astype("int64")
        _write_csv(joined, out / "inputs" / f"{table}.csv", bom=table == "doses")
    doses_truth = pd.concat([truth[p.code] for p in provinces], ignore_index=True)
    pq.write_table(pa.Table.from_pandas(doses_truth, preserve_index=False), out / "truth" / "doses_truth.parquet")
    known = pd.concat([pd.read_parquet(out / "provinces" / p.code / "truth" / "persons_truth.parquet")
                       for p in provinces], ignore_index=True).set_index("person_ref")["errors"]
    persons = doses_truth.drop_duplicates("person_ref")[["person_ref", "person_id"]].sort_values("person_ref")
    persons["errors"] = persons["person_ref"].map(known).fillna("cross_province")
    pq.write_table(pa.Table.from_pandas(persons.reset_index(drop=True), preserve_index=False),
                   out / "truth" / "persons_truth.parquet")
    export.write_params(out, provinces[0], provinces=[p.code for p in provinces])


def link_scores(found: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Pairwise scores of a run's person linkage against the truth, for the pairs of person
    codes in one province (``within``) and in two (``cross``).

    Args:
        found: one row per person code: ``person_ref, person_id`` (the run's) and
            ``province_code`` (of its rows).
        truth: ``truth/persons_truth.parquet``: ``person_ref, person_id`` (the true person).

    Returns:
        Index ``within, cross``; columns ``true_pairs, found_pairs, both, precision, recall``.

    Examples:
        >>> found = pd.DataFrame({"person_ref": ["a", "b", "c", "d"], "person_id": [1, 1, 2, 2],
        ...                       "province_code": ["19", "06", "19", "19"]})
        >>> truth = pd.DataFrame({"person_ref": ["a", "b", "c", "d"], "person_id": ["x", "x", "y", "z"]})
        >>> link_scores(found, truth)[["true_pairs", "found_pairs", "both"]].values.tolist()
        [[0, 1, 0], [1, 1, 1]]
    """
    refs = found.merge(truth, on="person_ref", suffixes=("_found", "_true"), validate="one_to_one")

    def pairs(by: str, cross: bool) -> set[tuple[str, str]]:
        side = refs[[by, "person_ref", "province_code"]]
        both = side.merge(side, on=by)
        two = both["province_code_x"] != both["province_code_y"]
        keep = (both["person_ref_x"] < both["person_ref_y"]) & (two == cross)
        return set(zip(both.loc[keep, "person_ref_x"], both.loc[keep, "person_ref_y"]))

    rows = {}
    for name, cross in (("within", False), ("cross", True)):
        true, got = pairs("person_id_true", cross), pairs("person_id_found", cross)
        hit = len(true & got)
        rows[name] = {"true_pairs": len(true), "found_pairs": len(got), "both": hit,
                      "precision": hit / len(got) if got else 1.0, "recall": hit / len(true) if true else 1.0}
    return pd.DataFrame.from_dict(rows, orient="index")
