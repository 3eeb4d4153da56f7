"""Build ``vaxreport/data/vietnamese_syllables.csv``: the Vietnamese syllable inventory.

The real inventory, not a pattern: the words of the Vietnamese Hunspell dictionary (LibreOffice
``dictionaries/vi``, GPL-2.0; Debian package ``hunspell-vi`` 1:7.5.0-1, whose ``vi_VN.dic`` lists
one syllable per line), plus:

* the i/y spelling variant after a consonant that names use and the dictionary lists one way
  only (``sĩ``/``sỹ``, ``mi``/``my``, ``quí``/``quý``, ``thi``/``thy``) — the two are the same
  syllable in the two spelling traditions;
* the syllables of the project's own name tables (``names_*.csv``: e.g. the surnames Nhữ, Khưu,
  Lỷ, which the dictionary lacks).

Entries that are not one syllable under Vietnamese spelling rules (acronyms such as ``UBND``,
loan words such as ``internet``) are dropped. Every syllable is NFC, lower case, with the "new"
tone placement (``hòa``, ``thủy``) of ``vaxreport.text``; a one-column CSV (header ``syllable``),
one per line, sorted.

Usage::

    apt-get download hunspell-vi      # or any copy of the .deb below
    .venv/bin/python scripts/build_syllables.py --deb hunspell-vi_1%3a7.5.0-1_all.deb

A rerun is byte-identical. The .deb's sha256 is pinned.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import subprocess
import sys
import tempfile
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vaxreport import text  # noqa: E402  (the structural parser and tone convention)

DEB_SHA256 = "d8c801d7e30b9486de53d70dd537f5bbb46a93a66803c5e15e652d3ca19389ec"
DIC_MEMBER = "usr/share/hunspell/vi_VN.dic"
DEFAULT_OUT = ROOT / "vaxreport" / "data" / "vietnamese_syllables.csv"
NAME_TABLES = {"names_surnames.csv": "surname", "names_middle.csv": "middle", "names_given.csv": "given"}
# not ch/tr/kh/ph/nh: "chý", "trý" are mojibake
_I_ONSETS = ("b", "d", "đ", "h", "k", "l", "m", "n", "r", "s", "t", "th", "v", "x", "qu")


def _norm(word: str) -> str | None:
    """NFC, lower case, new tone placement; None if not one syllable by the spelling rules."""
    w = unicodedata.normalize("NFC", word.strip()).lower()
    if not w or not w.isalpha():
        return None
    return text._analyse_word(w, inventory=False)  # the spelling rules only


def _iy_variants(syllable: str) -> list[str]:
    """``my`` for ``mi``, ``sĩ`` for ``sỹ``: i and y after a consonant onset, same tone."""
    for onset in sorted(_I_ONSETS, key=len, reverse=True):
        if syllable.startswith(onset) and len(syllable) == len(onset) + 1:
            last = syllable[-1]
            base = unicodedata.normalize("NFD", last)
            if base[0] in "iy":
                other = "y" if base[0] == "i" else "i"
                return [onset + unicodedata.normalize("NFC", other + base[1:])]
    return []


def read_dic(deb: Path) -> list[str]:
    """The words of ``vi_VN.dic`` inside the pinned .deb."""
    digest = hashlib.sha256(deb.read_bytes()).hexdigest()
    if digest != DEB_SHA256:
        raise SystemExit(f"{deb}: sha256 {digest} differs from the pinned {DEB_SHA256}")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["dpkg-deb", "-x", str(deb), tmp], check=True)
        lines = (Path(tmp) / DIC_MEMBER).read_text(encoding="utf-8").splitlines()
    return [line.split("/")[0] for line in lines[1:]]  # first line: the entry count


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--deb", type=Path, required=True, help="hunspell-vi_1:7.5.0-1_all.deb")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)

    words = read_dic(args.deb)
    dic = {s for s in map(_norm, words) if s}
    variants = {v for s in dic for v in _iy_variants(s)} - dic
    names: set[str] = set()
    for table, column in NAME_TABLES.items():
        with (ROOT / "vaxreport" / "data" / table).open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                names |= {s for s in map(_norm, row[column].split()) if s}
    names -= dic | variants
    inventory = sorted(dic | variants | names)
    data = ("\n".join(["syllable", *inventory]) + "\n").encode("utf-8")
    args.out.write_bytes(data)
    print(f"{len(words)} dictionary entries → {len(dic)} syllables; +{len(variants)} i/y variants; "
          f"+{len(names)} from the name tables ({', '.join(sorted(names)[:12])}…)")
    print(f"{args.out}: {len(inventory)} syllables, sha256 {hashlib.sha256(data).hexdigest()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
