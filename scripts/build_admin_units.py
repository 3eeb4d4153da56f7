"""Build ``vaxreport/data/admin_units.csv``: Vietnam's pre-2025 administrative units, dated.

Source: the GSO list of administrative units (Danh mục đơn vị hành chính, danhmuchanhchinh.gso.gov.vn)
as published, one snapshot per GSO list, in the git history of the public repository
``daohoangson/dvhcvn`` (file ``data/dvhcvn.json``; ``data/date.txt`` gives the list's date). The
snapshots used are pinned below by commit and blob hash; a different file fails the build.

Every commune row of every snapshot is normalised (NFC, the "new" tone placement hoà → hòa used
by ``vaxreport.text``, types from the name prefix, short district names), then consecutive
snapshots that list a commune with the same nine fields are merged into one row with
``valid_from`` (the date of the first list showing it so) and ``valid_to`` (the day before the
first list that no longer does; for rows still listed in the last snapshot used, the day before
``HORIZON``, the next list in the repository, not used). A date is thus in force in exactly one
row per commune that exists on it.

It also writes:

* ``vaxreport/data/commune_successors.csv`` — for each commune code that vanished between two
  snapshots, the code that took over (``old_code, old_name, old_district, retired_on, new_code,
  new_name, basis``) or, where the snapshots do not say which, an empty ``new_code`` with
  ``basis = ambiguous: …``;
* ``tests/data/admin_snapshots.csv`` — per snapshot, its row count and the sha256 of its
  normalised rows, computed from the raw snapshot (not from the merged table), so the tests can
  check offline that ``refdata.admin_units(None, on=date)`` equals each snapshot.

Usage (the repository is fetched once, e.g. with the session ``fetch`` tool or ``git clone``)::

    .venv/bin/python scripts/build_admin_units.py --repo /work/.mirror/daohoangson+dvhcvn/repo

A rerun is byte-identical. The build reads the snapshots with ``git show``; nothing is downloaded.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import re
import subprocess
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "vaxreport" / "data" / "admin_units.csv"
DEFAULT_SUCCESSORS = ROOT / "vaxreport" / "data" / "commune_successors.csv"
DEFAULT_DIGESTS = ROOT / "tests" / "data" / "admin_snapshots.csv"
JSON_PATH = "data/dvhcvn.json"
DATE_PATH = "data/date.txt"


@dataclass(frozen=True)
class Snapshot:
    """One GSO list as committed to daohoangson/dvhcvn."""

    commit: str
    list_date: date
    blob: str  # git blob id of data/dvhcvn.json at that commit


SNAPSHOTS: tuple[Snapshot, ...] = (
    Snapshot("ca30e0ceb2b929fa714f286a3e13e3e3984bb8c6",
             date(2021, 2, 1), "ecfd67f3e209c29f09e0d4bcde8139c836b0ecc7"),
    Snapshot("21756a68e4b228208593ef9eb9e7cd028e65c241",
             date(2021, 7, 1), "462fde1ba7a96df999dbbe7e068ff45e5a68efa8"),
    Snapshot("8c9bf729baf2e3e1561bd1dc76ef3bff279bebc1",
             date(2021, 11, 1), "6402d0ff7529ff0c4353ddb52e3d8d868b447830"),
    Snapshot("ef2504e24250959cc66604c8b847d6a0972ae3c7",
             date(2022, 4, 10), "269c5ea92eb8f51e17661613847ed67684d0cf2f"),
    Snapshot("71996c5e53594f28d5bbd995e5aa983366ad1386",
             date(2022, 10, 1), "7c4dc2c57ac0922bc71ec9ee038767533c618cdf"),
    Snapshot("9ce1ab57a41bb056d6d3e77cbc9e2c561ff18ec5",
             date(2023, 4, 10), "677f80a9342cb44e5bc049cbc6563aba99decc8e"),
    Snapshot("ed528e718ca50b0e469f18a6d6352a4b2f1102b2",
             date(2024, 2, 1), "a74074b8096bc0346c0e18e25ab73f702dc4b0d4"),
)
#: The next GSO list in the repository (commit e503f13, list of 01/05/2024), not used: rows still
#: listed in the last snapshot are valid until the day before it.
HORIZON = date(2024, 5, 1)

COLUMNS = [
    "province_code",
    "province_name",
    "district_code",
    "district_name",
    "district_type",
    "district_short",
    "commune_code",
    "commune_name",
    "commune_type",
]
SUCCESSOR_COLUMNS = ["old_code", "old_name", "old_district", "retired_on", "new_code", "new_name", "basis"]
PROVINCE_PREFIXES = ("Thành phố", "Tỉnh")
DISTRICT_TYPES = ("Thành phố", "Thị xã", "Quận", "Huyện")
COMMUNE_TYPES = ("Thị trấn", "Phường", "Xã")
DISTRICT_SHORT_PREFIX = {"Thành phố": "TP ", "Thị xã": "TX ", "Quận": "Quận ", "Huyện": ""}

# Old → new tone placement on a syllable-final oa/oe/uy (not after q: "quý" stays).
_TONED = {"a": "àáảãạ", "e": "èéẻẽẹ", "y": "ỳýỷỹỵ"}
_BASE_TONED = {"o": "òóỏõọ", "u": "ùúủũụ"}
_TONE_RE = re.compile(r"(?<![qQ])([oOuU])([àáảãạèéẻẽẹỳýỷỹỵ])(?![^\W\d_])")


def _new_tone_style(text: str) -> str:
    """Move the tone mark of a syllable-final oa/oe/uy to the first vowel: "Hoà" → "Hòa"."""

    def swap(m: re.Match[str]) -> str:
        first, second = m.group(1), m.group(2)
        for plain, toned in _TONED.items():
            if second in toned:
                tone = toned.index(second)
                marked = _BASE_TONED[first.lower()][tone]
                return (marked.upper() if first.isupper() else marked) + plain
        return m.group(0)

    return _TONE_RE.sub(swap, text)


def normalise_name(name: str) -> str:
    """NFC, single spaces and the new tone style."""
    return _new_tone_style(" ".join(unicodedata.normalize("NFC", name).split()))


def split_type(name: str, types: tuple[str, ...]) -> tuple[str, str]:
    """Return ``(type, bare name)`` from a prefixed unit name ("Thị Xã X" → "Thị xã"); fail if unknown."""
    for prefix in types:
        if name.casefold().startswith(prefix.casefold() + " "):
            return prefix, name[len(prefix) + 1 :]
    raise SystemExit(f"unknown unit type in name {name!r}; expected one of {types}")


def _git(repo: Path, *args: str) -> bytes:
    return subprocess.run(["git", "--git-dir", str(repo), *args], check=True, capture_output=True).stdout


def load_snapshot(repo: Path, snap: Snapshot) -> list[dict[str, str]]:
    """The normalised commune rows of one snapshot, sorted by codes (checks date and blob)."""
    listed = _git(repo, "show", f"{snap.commit}:{DATE_PATH}").decode().strip()
    if listed != snap.list_date.strftime("%d/%m/%Y"):
        raise SystemExit(f"{snap.commit}: {DATE_PATH} says {listed}, expected {snap.list_date:%d/%m/%Y}")
    blob = _git(repo, "rev-parse", f"{snap.commit}:{JSON_PATH}").decode().strip()
    if snap.blob and blob != snap.blob:
        raise SystemExit(f"{snap.commit}: {JSON_PATH} is blob {blob}, pinned {snap.blob}")
    tree = json.loads(_git(repo, "show", f"{snap.commit}:{JSON_PATH}").decode("utf-8"))["data"]
    rows = []
    for prov in tree:
        _, province_name = split_type(normalise_name(prov["name"]), PROVINCE_PREFIXES)
        for dist in prov["level2s"]:
            district_type, district_bare = split_type(normalise_name(dist["name"]), DISTRICT_TYPES)
            for ward in dist["level3s"]:
                commune_type, commune_bare = split_type(normalise_name(ward["name"]), COMMUNE_TYPES)
                rows.append({
                    "province_code": prov["level1_id"],
                    "province_name": province_name,
                    "district_code": dist["level2_id"],
                    "district_name": f"{district_type} {district_bare}",
                    "district_type": district_type,
                    "district_short": DISTRICT_SHORT_PREFIX[district_type] + district_bare,
                    "commune_code": ward["level3_id"],
                    "commune_name": f"{commune_type} {commune_bare}",
                    "commune_type": commune_type,
                })
    rows.sort(key=lambda r: (r["province_code"], r["district_code"], r["commune_code"]))
    codes = [r["commune_code"] for r in rows]
    if len(set(codes)) != len(codes):
        raise SystemExit(f"{snap.commit}: a commune code is listed twice")
    return rows


def rows_digest(rows: list[dict[str, str]]) -> str:
    """sha256 of the rows as ``|``-joined COLUMNS lines, sorted by codes (what the tests recompute)."""
    lines = sorted("|".join(r[c] for c in COLUMNS) for r in rows)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def merge_intervals(snapshots: list[tuple[Snapshot, list[dict[str, str]]]]) -> list[dict[str, str]]:
    """One row per commune and unchanged run of snapshots, with ``valid_from``/``valid_to``."""
    open_rows: dict[tuple[str, ...], dict[str, str]] = {}
    out: list[dict[str, str]] = []
    for snap, rows in snapshots:
        keys = {tuple(r[c] for c in COLUMNS): r for r in rows}
        for key in list(open_rows):
            if key not in keys:  # changed or gone since the previous list
                row = open_rows.pop(key)
                row["valid_to"] = (snap.list_date - timedelta(days=1)).isoformat()
                out.append(row)
        for key, r in keys.items():
            if key not in open_rows:
                open_rows[key] = {**r, "valid_from": snap.list_date.isoformat()}
    for row in open_rows.values():
        row["valid_to"] = (HORIZON - timedelta(days=1)).isoformat()
        out.append(row)
    out.sort(key=lambda r: (r["province_code"], r["district_code"], r["commune_code"], r["valid_from"]))
    return out


def _bare_key(name: str) -> str:
    """Folded bare name without the unit type: "Phường Cầu Đất" → "cau dat"."""
    s = unicodedata.normalize("NFD", name.replace("Đ", "D").replace("đ", "d"))
    s = "".join(c for c in s if not unicodedata.combining(c)).lower()
    for prefix in ("thi tran ", "phuong ", "xa "):
        if s.startswith(prefix):
            return s[len(prefix):]
    return s


def successors(snapshots: list[tuple[Snapshot, list[dict[str, str]]]]) -> list[dict[str, str]]:
    """The code that took over each commune code that vanished between two consecutive snapshots.

    Rules, in order (all within the vanished commune's district as of the later list, or the
    district its neighbours moved to): (1) a commune of the later list with the same bare name
    ("Cầu Đất" 11353 → 11344); (2) the only new code of that district; (3) the only existing
    commune of that district whose name or type changed (a merger into a renamed or promoted
    unit). Otherwise the successor is left empty and the basis says why (ambiguous).
    """
    out = []
    for (_, prev), (snap, cur) in zip(snapshots, snapshots[1:]):
        prev_by = {r["commune_code"]: r for r in prev}
        cur_by = {r["commune_code"]: r for r in cur}
        by_district: dict[str, list[dict[str, str]]] = defaultdict(list)
        for r in cur:
            by_district[r["district_code"]].append(r)
        for code in sorted(set(prev_by) - set(cur_by)):
            old = prev_by[code]
            district = old["district_code"]
            # Where the district itself vanished, look where its surviving communes went.
            if district not in by_district:
                moved = {cur_by[c]["district_code"] for c, r in prev_by.items()
                         if r["district_code"] == district and c in cur_by}
                district = moved.pop() if len(moved) == 1 else district
            cands = by_district.get(district, [])
            same_name = [r for r in cands if _bare_key(r["commune_name"]) == _bare_key(old["commune_name"])]
            new_codes = [r for r in cands if r["commune_code"] not in prev_by]
            changed = [r for r in cands if r["commune_code"] in prev_by
                       and (prev_by[r["commune_code"]]["commune_name"] != r["commune_name"])]
            if len(same_name) == 1:
                hit, basis = same_name[0], "same name in the district"
            elif len(new_codes) == 1:
                hit, basis = new_codes[0], "the only new code in the district"
            elif not new_codes and len(changed) == 1:
                hit, basis = changed[0], "the only renamed commune in the district"
            else:
                hit = None
                basis = (f"ambiguous: {len(new_codes)} new codes and {len(changed)} renamed communes "
                         f"in district {district}")
            out.append({
                "old_code": code,
                "old_name": old["commune_name"],
                "old_district": old["district_code"],
                "retired_on": snap.list_date.isoformat(),
                "new_code": hit["commune_code"] if hit else "",
                "new_name": hit["commune_name"] if hit else "",
                "basis": basis,
            })
    # Chain: a successor that later vanished itself points on to its own successor.
    final = {r["old_code"]: r["new_code"] for r in out}
    for r in out:
        seen = {r["old_code"]}
        nxt = r["new_code"]
        while nxt in final and final[nxt] and nxt not in seen:
            seen.add(nxt)
            nxt = final[nxt]
        if nxt != r["new_code"]:
            r["basis"] += f"; chained to {nxt}"
            r["new_code"] = nxt
    return out


def to_csv(rows: list[dict[str, str]], columns: list[str]) -> bytes:
    """UTF-8 CSV bytes, ``\\n`` newlines, fixed column order."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repo", type=Path, required=True,
                    help="git directory of daohoangson/dvhcvn (bare or .git)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output CSV path")
    ap.add_argument("--successors", type=Path, default=DEFAULT_SUCCESSORS)
    ap.add_argument("--digests", type=Path, default=DEFAULT_DIGESTS)
    args = ap.parse_args(argv)

    snapshots = [(s, load_snapshot(args.repo, s)) for s in SNAPSHOTS]
    merged = merge_intervals(snapshots)
    succ = successors(snapshots)
    digests = [{"list_date": s.list_date.isoformat(), "commit": s.commit, "rows": str(len(rows)),
                "sha256": rows_digest(rows)} for s, rows in snapshots]
    outputs = ((args.out, merged, [*COLUMNS, "valid_from", "valid_to"]),
               (args.successors, succ, SUCCESSOR_COLUMNS),
               (args.digests, digests, ["list_date", "commit", "rows", "sha256"]))
    for path, rows, columns in outputs:
        data = to_csv(rows, columns)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        print(f"{path}: {len(rows)} rows, sha256 {hashlib.sha256(data).hexdigest()}")
    for d in digests:
        print(f"  list {d['list_date']} ({d['commit']}): {d['rows']} communes")
    n_amb = sum(not r["new_code"] for r in succ)
    print(f"  {len(succ)} retired codes, {len(succ) - n_amb} with a successor, {n_amb} ambiguous")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
