"""Throughput and accuracy of vaxreport.text on 500 k unique synthetic Vietnamese names.

Run: ``.venv/bin/python bench/bench_text.py [--unique 500000] [--rows 2900000]``.

Prints unique strings per second for ``to_unicode``, ``fold`` and ``title_case_name``, the
column-level time of ``to_unicode_series`` on a column with repeats, and the repair accuracy on
names rendered in TCVN3 and VNI (lower, title and upper case), plus the false-positive count on
clean names, and how ``steps_text.standardise_text`` resolves names valid both as Unicode and as
legacy text from the column's word frequencies. The names are generated here, independently of
``vaxreport.synth``.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from vaxreport import text

SURNAMES = (
    "Nguyễn Trần Lê Phạm Hoàng Huỳnh Phan Vũ Võ Đặng Bùi Đỗ Hồ Ngô Dương Lý Đào Đoàn Vương Trịnh "
    "Trương Lâm Phùng Mai Tô Hà Lương Đinh Quách Lục Nông Ma Triệu Hứa Lò Sầm Chu Thái Khổng Quan "
    "Kiều Tạ Cao Tăng Mạc Từ Giáp Âu Ông Khúc"
).split()
MIDDLES = (
    "Văn Thị Đức Minh Quang Hữu Ngọc Thanh Thu Thùy Thủy Hồng Xuân Kim Bảo Gia Hoài Phương Mạnh "
    "Tuấn Anh Công Đình Trọng Khánh Thế Quốc Như Diệu Mỹ Bích Cẩm Diễm Huyền Khắc Nguyệt Tường "
    "Thiện Hòa Hoà Quý Uyên Tuyết Yến"
).split()
GIVENS = (
    "An Anh Ánh Bách Bảo Bình Cường Chi Châu Chiến Công Cúc Dũng Dung Duy Dương Đạt Định Đông Đức "
    "Giang Hà Hải Hạnh Hào Hằng Hậu Hiền Hiếu Hiệp Hoa Hòa Hoà Hoài Hoàn Hoàng Hồng Huệ Hùng Hưng "
    "Hương Hường Huy Huyền Kiên Kiều Khải Khang Khánh Khoa Khôi Lan Lâm Liên Liễu Linh Loan Long "
    "Lộc Lợi Luân Lực Ly Mai Mạnh Minh My Mỹ Nam Nga Ngân Nghĩa Ngọc Nguyên Nhàn Nhân Nhật Nhi "
    "Nhung Oanh Phát Phong Phú Phúc Phương Phượng Quân Quang Quế Quỳnh Quý Sang Sơn Sương Tài Tâm "
    "Tân Thắm Thắng Thanh Thành Thảo Thắng Thịnh Thoa Thu Thư Thúy Thuý Thủy Thuỷ Thương Tiến Tiên "
    "Toàn Trang Trâm Trí Trinh Trung Tuấn Tùng Tú Tuyết Uyên Vân Việt Vinh Vũ Vy Xuân Yến Ẩn Ổn "
    "Ưng Ước Ửng Ấm Ỷ Ỵ Ễ Khuê Ngoãn Khuyến Huỳnh Quyết Nguyện Tưởng Nhượng Giảng Giỏi Giữ"
).split()


def make_names(n: int, seed: int = 7) -> list[str]:
    """``n`` distinct full names (surname, one or two middle names, given name; a few given
    names doubled), in NFC with both tone conventions present."""
    rng = random.Random(seed)
    names: set[str] = set()
    while len(names) < n:
        parts = [rng.choice(SURNAMES)]
        parts += rng.sample(MIDDLES, rng.choice((1, 1, 1, 2)))
        parts.append(rng.choice(GIVENS))
        if rng.random() < 0.3:
            parts.append(rng.choice(GIVENS))
        names.add(" ".join(parts))
    return sorted(names)


def strip_marks(s: str) -> str:
    """ASCII rendering (diacritics dropped), as typed without a Vietnamese keyboard."""
    return text.fold(s).title()


def variants(names: list[str], seed: int = 11) -> list[str]:
    """The raw column values: mostly clean NFC, plus NFD, ASCII, capitals, TCVN3 and VNI."""
    rng = random.Random(seed)
    out = []
    for name in names:
        r = rng.random()
        if r < 0.60:
            out.append(name)
        elif r < 0.66:
            out.append(unicodedata.normalize("NFD", name))
        elif r < 0.74:
            out.append(strip_marks(name))
        elif r < 0.78:
            out.append(name.upper())
        elif r < 0.89:
            out.append(text.encode_legacy(name, "tcvn3"))
        else:
            out.append(text.encode_legacy(name, "vni"))
    return out


def rate(func: Callable[[str], object], values: list[str]) -> tuple[float, float]:
    """Values per second of CPU time (this process only, so other load on the machine does
    not count), with cold caches."""
    for cache in (text._WORD_CACHE, text._CHUNK_CACHE, text._LEGACY_CACHE):
        cache.clear()
    t0 = time.process_time()
    for v in values:
        func(v)
    dt = time.process_time() - t0
    return len(values) / dt, dt


def accuracy(names: list[str]) -> None:
    """Share of legacy renderings repaired exactly, per encoding and case style."""
    real = [n for n in names if all(text.normalize_tones(w).lower() in text.INVENTORY for w in n.split())]
    print(f"  ({len(names) - len(real)} of {len(names)} generated names hold a made-up syllable such as "
          "'Ễ' or 'Ỵ' that is in no word list; such words are never decoded: 'all' counts them, 'real' not)")
    for enc in ("tcvn3", "vni"):
        for style, f in (("lower", str.lower), ("title", str), ("upper", str.upper)):
            ok_real = sum(text.to_unicode(text.encode_legacy(f(x), enc)) == text.to_unicode(f(x)) for x in real)
            print(f"  {enc:5s} {style:5s}: exact on real-syllable names {ok_real / max(len(real), 1):7.3%}   "
                  f"n={len(real)}")
            sample = [f(n) for n in names]
            ok = sum(text.to_unicode(text.encode_legacy(x, enc)) == text.to_unicode(x) for x in sample)
            letters = sum(
                text.to_unicode(text.encode_legacy(x, enc)).lower() == text.to_unicode(x).lower()
                for x in sample
            )
            print(
                f"  {enc:5s} {style:5s}: exact {ok / len(sample):7.3%}   "
                f"letters (ignoring case) {letters / len(sample):7.3%}   n={len(sample)}"
            )
    fp = [x for x in names if text.detect_legacy(x) is not None]
    print(f"  clean NFC names detected as legacy: {len(fp)} of {len(names)} {fp[:5]}")
    nfd = sum(text.to_unicode(unicodedata.normalize("NFD", x)) == text.to_unicode(x) for x in names)
    print(f"  NFD names repaired: {nfd / len(names):.3%}")


def column_evidence(names: list[str]) -> None:
    """Names valid both as Unicode and as legacy text (``text.legacy_readings``), resolved by
    ``steps_text.standardise_text`` from the column's word frequencies: how many it converted and
    how many of those are right, and whether a clean name was ever converted."""
    from vaxreport.cleansing import steps_text
    from vaxreport.cleansing.protocol import CleanParams

    raw = variants(names)
    out = steps_text.standardise_text(pd.DataFrame({"full_name": raw}), CleanParams())
    rows = {"clean": [0, 0], "tcvn3": [0, 0], "vni": [0, 0]}  # ambiguous values, repaired
    converted = wrong = 0
    for name, value, new, rule in zip(names, raw, out["full_name"], out["__rule__full_name"],
                                      strict=True):
        if not text.legacy_readings(value):
            continue
        src = ("clean" if value == name else "tcvn3" if value == text.encode_legacy(name, "tcvn3")
               else "vni" if value == text.encode_legacy(name, "vni") else None)
        if src is None:
            continue
        right = new == text.title_case_name(name)
        rows[src][0] += 1
        rows[src][1] += right
        if isinstance(rule, str) and rule.startswith("text_legacy"):
            converted += 1
            wrong += not right
    for src, (n, ok) in rows.items():
        print(f"  ambiguous {src:5s} values: {n:6,}   right after cleansing: {ok / max(n, 1):.3%}")
    print(f"  converted to legacy by column evidence: {converted:,}, wrong: {wrong:,}")


# ----------------------------------------------------------------------------- real names, Unikey
def _git_or_file(path: Path, member: str) -> str:
    """``member`` of a git directory (HEAD, via ``git show``) or a plain checkout, or ``path`` itself."""
    if path.is_file():
        return path.read_text(encoding="utf-8", errors="replace")
    if (path / member).is_file():
        return (path / member).read_text(encoding="utf-8", errors="replace")
    out = subprocess.run(["git", "--git-dir", str(path), "show", f"HEAD:{member}"], check=True, capture_output=True)
    return out.stdout.decode("utf-8", errors="replace")


def unikey_tables(data_cpp: str) -> dict[str, dict[str, str]]:
    """Unicode letter → legacy text (the bytes read as cp1252) for Unikey's TCVN3 and VNI-WIN
    tables, parsed from fcitx5-unikey's ``unikey/data.cpp`` (read at run time, not shipped)."""
    src = re.sub(r"//[^\n]*", "", data_cpp)

    def block(marker: str) -> str:
        i = src.index("{", src.index(marker))
        return src[i + 1 : src.index("}", i)]

    uni = [int(x, 16) for x in re.findall(r"0x[0-9a-fA-F]+", block("UnicodeChar UnicodeTable[TOTAL_VNCHARS]"))]
    single = data_cpp[data_cpp.index("SingleByteTables"):]
    single = single[single.index("// TCVN3"):]
    single = re.sub(r"//[^\n]*", "", single[: single.index("}")])
    tcvn3 = re.findall(r"'(\\x[0-9a-fA-F]{2}|[^'\\])'", single)
    vni = [int(x, 16) for x in re.findall(r"0x[0-9a-fA-F]+", block("UKWORD DoubleByteTables"))]
    n_letters = len(tcvn3)  # the letters come first (through z); Western symbols follow
    out: dict[str, dict[str, str]] = {"tcvn3": {}, "vni": {}}
    for i in range(n_letters):
        ch = chr(uni[i])
        t = tcvn3[i]
        out["tcvn3"][ch] = bytes([int(t[2:], 16)]).decode("cp1252") if t.startswith("\\x") else t
        word = vni[i]
        raw = bytes([word & 0xFF]) + (bytes([word >> 8]) if word >> 8 else b"")
        out["vni"][ch] = raw.decode("cp1252")
    return out


def unikey_encode(s: str, table: dict[str, str]) -> str:
    return "".join(table.get(c, c) for c in unicodedata.normalize("NFC", s))


def real_names(namedb: Path) -> list[str]:
    """Distinct full names of ``uit_member.json`` (duyet/vietnamese-namedb, MIT) whose every
    syllable is in the Vietnamese word list (``text.INVENTORY``), in NFC title case."""
    data = json.loads(_git_or_file(namedb, "uit_member.json"))
    names = set()
    for rec in data:
        name = unicodedata.normalize("NFC", " ".join(str(rec.get("full_name", "")).split()))
        words = name.split()
        if len(words) >= 2 and all(text.normalize_tones(w).lower() in text.INVENTORY for w in words):
            names.add(name.title())
    return sorted(names)


def typed_per_site(names: list[str], tables: dict[str, dict[str, str]], sites_per_kind: int = 30,
                   seed: int = 5) -> pd.DataFrame:
    """Every name typed once in Unicode, once in TCVN3 and once in VNI (Unikey's tables), each
    at one of ``sites_per_kind`` sites that type only that way."""
    rng = random.Random(seed)
    rows = []
    for kind in ("unicode", "tcvn3", "vni"):
        for name in names:
            typed = name if kind == "unicode" else unikey_encode(name, tables[kind])
            rows.append((name, kind, f"{kind}-{rng.randrange(sites_per_kind):02d}", typed))
    return pd.DataFrame(rows, columns=["name", "kind", "site_code", "full_name"])


def real_name_accuracy(df: pd.DataFrame) -> pd.DataFrame:
    """Exact-match rate per typing kind after ``clean.standardise_text`` (title case, the
    project's tone placement), value by value (no site column) and with the site's habit."""
    from vaxreport.cleansing import steps_text as clean

    expected = df["name"].map(lambda n: text.normalize_tones(n).title())
    rows = []
    modes = (("one value at a time", df[["full_name"]]), ("by the site's habit", df[["full_name", "site_code"]]))
    for mode, frame in modes:
        c0 = time.process_time()
        out = clean.standardise_text(frame, clean.CleanParams())["full_name"]
        cpu = time.process_time() - c0
        ok = out.to_numpy() == expected.to_numpy()
        for kind in ("tcvn3", "vni", "unicode"):
            m = (df["kind"] == kind).to_numpy()
            rows.append({"mode": mode, "typed": kind, "names": int(m.sum()), "exact": int(ok[m].sum()),
                         "exact %": round(100 * ok[m].mean(), 3), "cpu s": round(cpu, 2)})
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--unique", type=int, default=500_000)
    ap.add_argument("--rows", type=int, default=2_900_000)
    ap.add_argument("--accuracy-sample", type=int, default=50_000)
    ap.add_argument("--unikey", type=Path, help="fcitx5-unikey git dir or unikey/data.cpp")
    ap.add_argument("--namedb", type=Path, help="duyet/vietnamese-namedb git dir or checkout")
    ap.add_argument("--real-only", action="store_true", help="only the real-name measurement")
    args = ap.parse_args()

    if args.unikey and args.namedb:
        tables = unikey_tables(_git_or_file(args.unikey, "unikey/data.cpp"))
        names = real_names(args.namedb)
        print(f"real names (every syllable in the word list): {len(names):,}; each typed once in "
              "Unicode, TCVN3 and VNI (Unikey's tables) at 30 sites per typing")
        from vaxreport.cleansing import steps_text as clean
        tables_out = []
        for style in ("title", "upper", "lower"):
            cased = [getattr(str, style)(n) for n in names]
            df = typed_per_site(cased, tables).assign(name=names * 3)
            res = real_name_accuracy(df).assign(case=style)
            legacy = df["kind"] != "unicode"
            alone = df.loc[legacy, "full_name"].map(text.to_unicode) == df.loc[legacy].apply(
                lambda r: text.normalize_tones(getattr(str, style)(r["name"])), axis=1)
            for kind in ("tcvn3", "vni"):
                m = (df.loc[legacy, "kind"] == kind).to_numpy()
                res.loc[len(res)] = {"mode": "text.to_unicode alone, case kept", "typed": kind,
                                     "names": int(m.sum()), "exact": int(alone[m].sum()),
                                     "exact %": round(100 * alone[m].mean(), 3), "cpu s": None, "case": style}
            tables_out.append(res)
            out = clean.standardise_text(df[["full_name", "site_code"]], clean.CleanParams())["full_name"]
            expected = df["name"].map(lambda n: text.normalize_tones(n).title())
            miss = df.assign(got=out)[out.to_numpy() != expected.to_numpy()]
            if len(miss):
                print(f"misses by the site's habit, {style} case ({len(miss)}):")
                print(miss[["kind", "full_name", "got", "name"]].head(20).to_string(index=False))
        table = pd.concat(tables_out)[["case", "mode", "typed", "names", "exact", "exact %", "cpu s"]]
        print(table.to_string(index=False))
        if args.real_only:
            return

    names = make_names(args.unique)
    values = variants(names)
    print(f"{len(values):,} unique raw names ({len(set(values)):,} distinct strings)")
    for label, func in (
        ("to_unicode", text.to_unicode),
        ("fold", text.fold),
        ("title_case_name", text.title_case_name),
        ("detect_legacy", text.detect_legacy),
    ):
        per_s, dt = rate(func, values)
        print(f"  {label:16s} {per_s:12,.0f} unique strings/s of CPU time ({dt:.2f} s)")
    kinds = {
        "clean NFC": [v for v in names if not v.isascii()],
        "NFD": [unicodedata.normalize("NFD", v) for v in names[::10]],
        "upper case": [v.upper() for v in names[::10]],
        "TCVN3": [text.encode_legacy(v, "tcvn3") for v in names[::10]],
        "VNI": [text.encode_legacy(v, "vni") for v in names[::10]],
    }
    for kind, vals in kinds.items():
        per_s, dt = rate(text.to_unicode, vals)
        print(f"  to_unicode, {kind:10s} only: {per_s:10,.0f}/s ({len(vals):,} values)")

    rng = random.Random(3)
    column = pd.Series(rng.choices(values, k=args.rows), dtype="str")
    for label, func in (("to_unicode_series", text.to_unicode_series), ("fold_series", text.fold_series)):
        for cache in (text._WORD_CACHE, text._CHUNK_CACHE, text._LEGACY_CACHE):
            cache.clear()
        t0, c0 = time.perf_counter(), time.process_time()
        func(column)
        print(
            f"  {label} on {args.rows:,} rows: {time.process_time() - c0:.2f} s CPU "
            f"({time.perf_counter() - t0:.2f} s wall)"
        )

    print("accuracy on legacy renderings of clean names:")
    accuracy(names[:: max(1, len(names) // args.accuracy_sample)])
    print("names valid both as Unicode and as legacy text, resolved by column evidence:")
    column_evidence(names)


if __name__ == "__main__":
    main()
