"""Build ``vaxreport/data/admin_units.csv``: Vietnam's pre-2025 administrative units as in force in 2022.

Source: the ``vietnam-provinces`` wheels on PyPI (GPL-3.0+; data = the GSO list of units,
danhmuchanhchinh.gso.gov.vn). Two old releases are fetched with ``pip download --no-deps`` into a
temporary folder (vaxreport never imports the package):

* **base** ``0.4.3`` — GSO list of 2021-02-03: every unit code valid during 2022 (Thái Nguyên:
  9 districts, 178 communes);
* **overlay** ``0.5.0`` — GSO list of 2023-05-07: used only for the districts listed in
  ``AMENDMENTS`` whose reclassification (huyện→thị xã, thị xã→thành phố, xã→phường) took effect
  on or before ``--as-of``. An amendment renames units; it never adds or removes a code (checked).

The package's ``division_type`` field is unreliable (``"xã"`` for every commune in some releases),
so types are derived from the name prefix. Names are NFC with the "new" tone placement
(hoà → hòa, thuỷ → thủy) used by ``vaxreport.text``. Output rows are sorted by codes, columns are
fixed, newlines are ``\\n``: a rerun is byte-identical.

Usage::

    .venv/bin/python scripts/build_admin_units.py            # as of 2022-12-31
    .venv/bin/python scripts/build_admin_units.py --as-of 2022-03-31 --out /tmp/q1.csv
    .venv/bin/python scripts/build_admin_units.py --wheel-dir DIR   # offline, wheels already in DIR
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import re
import subprocess
import sys
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

PACKAGE = "vietnam-provinces"
BASE_VERSION = "0.4.3"
OVERLAY_VERSION = "0.5.0"
# Pinned wheel digests: a different file under the same version fails the build.
WHEEL_SHA256 = {
    "0.4.3": "22be3c499998d29a457120a4be7a484c11570d3507f948f23e3418ad6c152e5f",
    "0.5.0": "c56acf6c4ad3b4275b77ebf00903d862f04a389e385813c7df9a89b6490dbdfc",
}
JSON_MEMBER = "vietnam_provinces/data/nested-divisions.json"
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "vaxreport" / "data" / "admin_units.csv"

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
PROVINCE_PREFIXES = ("Thành phố", "Tỉnh")
DISTRICT_TYPES = ("Thành phố", "Thị xã", "Quận", "Huyện")
COMMUNE_TYPES = ("Thị trấn", "Phường", "Xã")
DISTRICT_SHORT_PREFIX = {"Thành phố": "TP ", "Thị xã": "TX ", "Quận": "Quận ", "Huyện": ""}


@dataclass(frozen=True)
class Amendment:
    """A reclassification, taken from the overlay release for one district once in force."""

    district_code: str
    effective: date
    reference: str


AMENDMENTS: tuple[Amendment, ...] = (
    Amendment(
        "261",
        date(2021, 11, 1),
        "Bắc Ninh: thị xã Từ Sơn → thành phố, NQ 387/NQ-UBTVQH15, in force 1/11/2021 [S: congly.vn 8/10/2021]",
    ),
    Amendment(
        "259",
        date(2022, 4, 10),
        "Bắc Ninh: huyện Quế Võ → thị xã, UBTVQH resolutions of 2/2022 in force 10/4/2022 [INF: vietnambiz.vn]",
    ),
    Amendment(
        "262",
        date(2022, 4, 10),
        "Bắc Ninh: huyện Thuận Thành → thị xã, UBTVQH resolutions of 2/2022 in force 10/4/2022 [INF: vietnambiz.vn]",
    ),
    Amendment(
        "172",
        date(2022, 4, 10),
        "Thái Nguyên: thị xã Phổ Yên → thành phố (13 phường, 5 xã), UBTVQH 15/2/2022, in force 10/4/2022 "
        "[S: dautuvakinhdoanh.vn 16/2/2022]",
    ),
    Amendment(
        "697",
        date(2022, 10, 1),
        "Bình Phước: huyện Chơn Thành → thị xã, NQ 570/NQ-UBTVQH15, in force 1/10/2022 [S: baodautu.vn 13/8/2022]",
    ),
)

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


def fetch_tree(version: str, wheel_dir: Path) -> list[dict]:
    """Download (unless present) the wheel of ``version`` into ``wheel_dir`` and load its nested JSON."""
    wheel = wheel_dir / f"vietnam_provinces-{version}-py3-none-any.whl"
    if not wheel.exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
             "--dest", str(wheel_dir), f"{PACKAGE}=={version}"],
            check=True,
        )
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != WHEEL_SHA256[version]:
        raise SystemExit(f"{wheel.name}: sha256 {digest} differs from the pinned {WHEEL_SHA256[version]}")
    with zipfile.ZipFile(wheel) as zf:
        return json.loads(zf.read(JSON_MEMBER).decode("utf-8"))


def flatten(tree: list[dict]) -> dict[str, dict[str, str]]:
    """One raw record per commune, keyed by its 5-digit code."""
    rows: dict[str, dict[str, str]] = {}
    for prov in tree:
        for dist in prov["districts"]:
            for ward in dist["wards"]:
                code = f"{ward['code']:05d}"
                rows[code] = {
                    "province_code": f"{prov['code']:02d}",
                    "province_raw": prov["name"],
                    "district_code": f"{dist['code']:03d}",
                    "district_raw": dist["name"],
                    "commune_code": code,
                    "commune_raw": ward["name"],
                }
    return rows


def apply_amendments(
    base: dict[str, dict[str, str]], overlay: dict[str, dict[str, str]], as_of: date
) -> list[Amendment]:
    """Replace, in place, the base names of every amended district in force on ``as_of``."""
    applied = []
    for amendment in AMENDMENTS:
        if amendment.effective > as_of:
            continue
        old = {c for c, r in base.items() if r["district_code"] == amendment.district_code}
        new = {c for c, r in overlay.items() if r["district_code"] == amendment.district_code}
        if not old or old != new:
            raise SystemExit(
                f"amendment for district {amendment.district_code} changes commune codes: "
                f"only in base {sorted(old - new)}, only in overlay {sorted(new - old)}"
            )
        for code in old:
            base[code] = dict(overlay[code])
        applied.append(amendment)
    return applied


def build_rows(raw: dict[str, dict[str, str]]) -> list[dict[str, str]]:
    """Final CSV rows: normalised names, derived types and short district names, sorted by codes."""
    out = []
    for r in raw.values():
        _, province_name = split_type(normalise_name(r["province_raw"]), PROVINCE_PREFIXES)
        district_type, district_bare = split_type(normalise_name(r["district_raw"]), DISTRICT_TYPES)
        commune_type, commune_bare = split_type(normalise_name(r["commune_raw"]), COMMUNE_TYPES)
        out.append(
            {
                "province_code": r["province_code"],
                "province_name": province_name,
                "district_code": r["district_code"],
                "district_name": f"{district_type} {district_bare}",
                "district_type": district_type,
                "district_short": DISTRICT_SHORT_PREFIX[district_type] + district_bare,
                "commune_code": r["commune_code"],
                "commune_name": f"{commune_type} {commune_bare}",
                "commune_type": commune_type,
            }
        )
    out.sort(key=lambda row: (row["province_code"], row["district_code"], row["commune_code"]))
    return out


def to_csv(rows: list[dict[str, str]]) -> bytes:
    """UTF-8 CSV bytes, ``\\n`` newlines, fixed column order."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--as-of", type=date.fromisoformat, default=date(2022, 12, 31),
                    help="apply reclassifications in force on this date (default 2022-12-31)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output CSV path")
    ap.add_argument("--wheel-dir", type=Path, default=None,
                    help="folder holding (or receiving) the wheels; default: a temporary folder")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        wheel_dir = args.wheel_dir or Path(tmp)
        wheel_dir.mkdir(parents=True, exist_ok=True)
        base = flatten(fetch_tree(BASE_VERSION, wheel_dir))
        overlay = flatten(fetch_tree(OVERLAY_VERSION, wheel_dir))
    applied = apply_amendments(base, overlay, args.as_of)
    rows = build_rows(base)
    data = to_csv(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)

    print(f"{PACKAGE} {BASE_VERSION} + {len(applied)} amendments from {OVERLAY_VERSION} as of {args.as_of}")
    for a in applied:
        print(f"  {a.district_code} {a.effective}: {a.reference}")
    n_prov = len({r["province_code"] for r in rows})
    n_dist = len({r["district_code"] for r in rows})
    print(f"{args.out}: {len(rows)} communes, {n_dist} districts, {n_prov} provinces, "
          f"sha256 {hashlib.sha256(data).hexdigest()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
