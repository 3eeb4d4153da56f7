"""Benchmark of ``vaxreport.linkage.cluster_persons``: pairwise precision/recall/F1, candidate
pairs, throughput and peak memory.

Two test beds:

* ``--source own`` (default): an independent generator of Vietnamese person records written for
  this benchmark (not ``vaxreport.synth``): households sharing surname, phone, address and
  commune; twins; parents and children; a Zipf-like given-name distribution (many "Nguyễn Văn
  An"); duplicates re-registered at another site with the errors the platform sees — names
  without diacritics, typos, dropped middle name, swapped day/month, a typo'd date digit,
  missing/transposed/typo'd IDs, CMND vs CCCD, a new phone, a moved commune.
* ``--source synth``: ``vaxreport.synth`` (truth in ``truth/persons_truth.parquet``), one row per
  ``person_ref`` built from the doses line list as stage 1 does (``--scale S``: the harness's
  cached records of a province synthesised at that scale, ``bench/_work/dedup-S``).
* ``--source febrl1`` … ``febrl4``: the public FEBRL lists (no Vietnamese field at all), see
  ``dedup_sources.py``.

Any of them sparse (``--drop phone,gender,id_number:0.5``) or with a share of minority and foreign
names (``--names minority:0.1``); ``--peers splink,recordlinkage`` runs the peers on the same
records (their venvs under ``bench/_venvs``); the exact-ID baseline is always printed.

Usage::

    .venv/bin/python bench/bench_dedup.py --records 1300000
    .venv/bin/python bench/bench_dedup.py --source synth --dir outputs/synth
    .venv/bin/python bench/bench_dedup.py --source synth --scale 1 --drop phone,gender,id_number:0.5
    .venv/bin/python bench/bench_dedup.py --source febrl3 --peers splink,recordlinkage
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import dedup_sources as sources  # noqa: E402
from dedup_sources import strip_marks, typo  # noqa: E402

from vaxreport import linkage  # noqa: E402
from vaxreport.linkage.persons import DOSES  # noqa: E402
from vaxreport.linkage.threads import worker_count  # noqa: E402

HERE = Path(__file__).resolve().parent
#: The person columns the linkage reads: the person fields and each record's dose history.
LINKED = (*linkage.FIELDS, DOSES)

SURNAMES = [("Nguyễn", 380), ("Trần", 110), ("Lê", 95), ("Phạm", 70), ("Hoàng", 40),
            ("Huỳnh", 10), ("Phan", 45), ("Vũ", 30), ("Võ", 9), ("Đặng", 21), ("Bùi", 20),
            ("Đỗ", 14), ("Hồ", 13), ("Ngô", 13), ("Dương", 10), ("Lý", 5), ("Đào", 6),
            ("Đoàn", 5), ("Vương", 2), ("Trịnh", 4), ("Trương", 4), ("Lâm", 2), ("Mai", 3),
            ("Hà", 5), ("Tạ", 2), ("Lương", 3), ("Triệu", 2), ("Ma", 2), ("Nông", 3),
            ("Lục", 1), ("Hứa", 1), ("Quách", 1), ("Chu", 2), ("Đinh", 4), ("Tô", 1),
            ("Cao", 2), ("Lưu", 2), ("Kiều", 1), ("Thân", 1), ("La", 1)]
MIDDLE_M = [("Văn", 500), ("Đức", 60), ("Minh", 60), ("Quang", 40), ("Hữu", 40),
            ("Thanh", 30), ("Xuân", 25), ("Công", 30), ("Ngọc", 20), ("Đình", 40),
            ("Mạnh", 15), ("Tuấn", 10), ("Trung", 10), ("Hoàng", 15), ("Việt", 10), ("", 40)]
MIDDLE_F = [("Thị", 600), ("Ngọc", 40), ("Thu", 40), ("Thanh", 30), ("Minh", 20),
            ("Hồng", 25), ("Kim", 20), ("Phương", 20), ("Thị Thu", 25), ("Thị Hồng", 20),
            ("Thùy", 20), ("Bích", 10), ("Diệu", 10), ("", 30)]
GIVEN_M = ["An", "Anh", "Bình", "Cường", "Dũng", "Đức", "Hải", "Hùng", "Hưng", "Huy",
           "Khánh", "Long", "Minh", "Nam", "Phong", "Phúc", "Quang", "Sơn", "Tâm", "Thắng",
           "Thành", "Toàn", "Trung", "Tuấn", "Tùng", "Việt", "Vinh", "Hiếu", "Hoàng", "Hậu",
           "Kiên", "Lâm", "Lộc", "Mạnh", "Nghĩa", "Ngọc", "Nhân", "Phú", "Quân", "Quý",
           "Tài", "Thái", "Thịnh", "Tiến", "Trọng", "Trường", "Tú", "Văn", "Vũ", "Xuân",
           "Hào", "Hiệp", "Khoa", "Khôi", "Lực", "Nguyên", "Phát", "Sang", "Thiện", "Đạt",
           "Định", "Giang", "Hà", "Hòa", "Kha", "Luân", "Lương", "Tấn", "Thuận", "Vương"]
GIVEN_F = ["Anh", "Bích", "Chi", "Dung", "Giang", "Hà", "Hằng", "Hạnh", "Hiền", "Hoa",
           "Hồng", "Huệ", "Hương", "Lan", "Liên", "Linh", "Loan", "Mai", "My", "Nga",
           "Ngân", "Ngọc", "Nhung", "Oanh", "Phương", "Quyên", "Thảo", "Thủy", "Trang", "Tuyết",
           "Vân", "Yến", "Thu", "Hiên", "Lý", "Lệ", "Nhàn", "Nhi", "Như", "Phượng",
           "Quỳnh", "Sen", "Tâm", "Thanh", "Thơ", "Thúy", "Trâm", "Uyên", "Xuân", "Vy",
           "Duyên", "Gấm", "Hậu", "Hồng Nhung", "Khánh", "Lành", "Loan", "Mận", "Ngà", "Tươi"]


def _weighted(rng: np.random.Generator, items: list[tuple[str, int]], size: int) -> np.ndarray:
    names = np.array([i for i, _ in items], dtype=object)
    w = np.array([c for _, c in items], dtype=float)
    return names[rng.choice(len(names), size=size, p=w / w.sum())]


def _zipf(rng: np.random.Generator, names: list[str], size: int) -> np.ndarray:
    w = 1.0 / np.arange(1, len(names) + 1) ** 0.9
    return np.array(names, dtype=object)[rng.choice(len(names), size=size, p=w / w.sum())]


def generate(n_records: int, seed: int = 7) -> pd.DataFrame:
    """A person table with ``person_id`` truth; about ``n_records`` rows."""
    rng = np.random.default_rng(seed)
    n_persons = int(n_records / 1.33)
    n_communes = 180
    # households
    hh_size = rng.choice([1, 2, 3, 4, 5, 6], size=n_persons // 3 + 10,
                         p=[0.15, 0.2, 0.25, 0.25, 0.1, 0.05])
    hh_of = np.repeat(np.arange(hh_size.size), hh_size)[:n_persons]
    rank = np.arange(n_persons) - np.searchsorted(hh_of, hh_of)  # 0 head, 1 spouse, 2+ kids
    n_hh = hh_of.max() + 1
    hh_surname = _weighted(rng, SURNAMES, n_hh)
    hh_commune = np.array([f"{5400 + c:05d}" for c in rng.integers(0, n_communes, n_hh)],
                          dtype=object)
    hh_phone = np.array([f"0{p}" for p in rng.choice([3, 9, 8, 7], n_hh)], dtype=object) + \
        pd.Series(rng.integers(10_000_000, 99_999_999, n_hh)).astype(str).to_numpy(object)
    hamlet = rng.integers(1, 15, n_hh)
    hh_addr = np.array([f"Xóm {h}, " for h in hamlet], dtype=object)
    head_year = rng.integers(1945, 2000, n_hh)

    gender = np.where(rank == 0, rng.choice([1, 2], n_persons, p=[0.8, 0.2]),
                      np.where(rank == 1, 0, rng.choice([1, 2], n_persons)))
    gender = np.where((rank == 1), np.where(np.roll(gender, 1) == 1, 2, 1), gender)
    surname = np.where(rank == 1, _weighted(rng, SURNAMES, n_persons), hh_surname[hh_of])
    male = gender == 1
    middle = np.where(male, _weighted(rng, MIDDLE_M, n_persons),
                      _weighted(rng, MIDDLE_F, n_persons))
    given = np.where(male, _zipf(rng, GIVEN_M, n_persons), _zipf(rng, GIVEN_F, n_persons))
    year = np.where(rank == 0, head_year[hh_of],
                    np.where(rank == 1, head_year[hh_of] + rng.integers(-4, 6, n_persons),
                             head_year[hh_of] + rng.integers(20, 38, n_persons)))
    year = np.clip(year, 1940, 2016)
    month = rng.integers(1, 13, n_persons)
    day = rng.integers(1, 29, n_persons)
    # twins: a child with the same birth date as the previous child
    twin = (rank >= 3) & (rng.random(n_persons) < 0.04)
    prev = np.maximum(np.arange(n_persons) - 1, 0)
    year = np.where(twin, year[prev], year)
    month = np.where(twin, month[prev], month)
    day = np.where(twin, day[prev], day)
    full = pd.Series(surname + " " + middle + " " + given).str.replace(r"\s+", " ", regex=True)
    # ids: CCCD (province 019 mostly), CMND for some, none for kids / some adults
    age = 2022 - year
    kind = np.where(age < 14, rng.choice([0, 1], n_persons, p=[0.6, 0.4]),
                    rng.choice([0, 1, 2], n_persons, p=[0.08, 0.85, 0.07]))
    prov = rng.choice(["019", "019", "019", "001", "024", "020", "006"], n_persons)
    gdig = ((year >= 2000).astype(int) * 2 + (gender == 2)).astype(str)
    serial = pd.Series(rng.permutation(1_000_000)[np.arange(n_persons) % 1_000_000]
                       ).astype(str).str.zfill(6)  # unique within a (province, sex, year)
    cccd = pd.Series(prov) + gdig + pd.Series(year % 100).astype(str).str.zfill(2) + serial
    cmnd = "09" + pd.Series(rng.permutation(10_000_000)[:n_persons]).astype(str).str.zfill(7)
    idn = np.where(kind == 1, cccd, np.where(kind == 2, cmnd, None))
    own_phone = rng.random(n_persons) < np.where(age >= 18, 0.5, 0.05)
    phone = np.where(own_phone, np.array([f"09{x:08d}" for x in
                                          rng.integers(0, 99_999_999, n_persons)], object),
                     hh_phone[hh_of])
    commune = hh_commune[hh_of]
    address = (pd.Series(hh_addr[hh_of]) + "xã " + pd.Series(commune)).to_numpy(object)
    dob = pd.Series([f"{d:02d}/{m:02d}/{y}" for d, m, y in zip(day, month, year)])
    persons = pd.DataFrame({"person_id": np.arange(n_persons), "full_name": full,
                            "birth_date": dob, "gender": np.where(gender == 1, "M", "F"),
                            "id_number": idn, "phone": phone, "commune_code": commune,
                            "address": address})
    # duplicates
    extra = rng.choice([0, 1, 2, 3], n_persons, p=[0.76, 0.19, 0.04, 0.01])
    extra = np.minimum(extra, max(n_records - n_persons, 0))
    src = np.repeat(np.arange(n_persons), extra)
    dup = persons.iloc[src].reset_index(drop=True).copy()
    m = len(dup)
    r = rng.random((m, 16))
    names = dup["full_name"].to_numpy(object).copy()
    for k in np.flatnonzero(r[:, 0] < 0.35):
        names[k] = strip_marks(names[k])
    for k in np.flatnonzero(r[:, 1] < 0.06):
        toks = names[k].split(" ")
        j = len(toks) - 1 if r[k, 2] < 0.6 else int(rng.integers(0, len(toks)))
        toks[j] = typo(rng, toks[j])
        names[k] = " ".join(toks)
    for k in np.flatnonzero(r[:, 3] < 0.03):
        toks = names[k].split(" ")
        if len(toks) > 2:
            names[k] = " ".join([toks[0], *toks[2:]])
    for k in np.flatnonzero(r[:, 15] < 0.02):
        names[k] = names[k].upper()
    dup["full_name"] = names
    d, mo, y = (dup["birth_date"].str.slice(0, 2), dup["birth_date"].str.slice(3, 5),
                dup["birth_date"].str.slice(6, 10))
    swap = (r[:, 4] < 0.05) & (d.astype(int) <= 12)
    newd = np.where(swap, mo, d)
    newm = np.where(swap, d, mo)
    dstr = pd.Series(newd) + "/" + pd.Series(newm) + "/" + y
    digit = (r[:, 5] < 0.03)
    for k in np.flatnonzero(digit):
        s = list(dstr[k])
        pos = int(rng.choice([0, 1, 3, 4, 8, 9]))
        s[pos] = str(int(rng.integers(0, 10)))
        dstr[k] = "".join(s)
    iso = r[:, 6] < 0.3
    dstr = dstr.where(~iso, y + "-" + pd.Series(newm) + "-" + pd.Series(newd))
    dstr = dstr.where(r[:, 7] >= 0.02, None)
    dup["birth_date"] = dstr
    ids = dup["id_number"].to_numpy(object).copy()
    for k in range(m):
        v = ids[k]
        if not isinstance(v, str):
            continue
        if r[k, 8] < 0.3:
            ids[k] = None
        elif r[k, 8] < 0.34:
            i = int(rng.integers(0, len(v) - 1))
            ids[k] = v[:i] + v[i + 1] + v[i] + v[i + 2:]
        elif r[k, 8] < 0.38:
            i = int(rng.integers(0, len(v)))
            ids[k] = v[:i] + str(int(rng.integers(0, 10))) + v[i + 1:]
    dup["id_number"] = ids
    ph = dup["phone"].to_numpy(object).copy()
    newp = rng.integers(0, 99_999_999, m)
    ph = np.where(r[:, 9] < 0.2, None, ph)
    ph = np.where((r[:, 9] >= 0.2) & (r[:, 9] < 0.38),
                  np.array([f"03{x:08d}" for x in newp], object), ph)
    dup["phone"] = ph
    moved = r[:, 10] < 0.15
    dup["commune_code"] = np.where(moved, np.array(
        [f"{5400 + c:05d}" for c in rng.integers(0, n_communes, m)], object),
        dup["commune_code"].to_numpy(object))
    dup["address"] = np.where(moved | (r[:, 11] < 0.3), None, dup["address"].to_numpy(object))
    dup["gender"] = np.where(r[:, 12] < 0.02, np.where(dup["gender"] == "M", "F", "M"),
                             np.where(r[:, 13] < 0.03, None, dup["gender"]))
    out = pd.concat([persons, dup], ignore_index=True)
    out = out.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    return out


def pairwise(truth: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Pairwise precision, recall and F1 of predicted clusters against true persons."""
    def pairs(counts: pd.Series) -> int:
        c = counts.to_numpy(np.int64)
        return int((c * (c - 1) // 2).sum())

    df = pd.DataFrame({"t": truth, "p": labels})
    tp = pairs(df.groupby(["t", "p"]).size())
    true_pairs = pairs(df.groupby("t").size())
    pred_pairs = pairs(df.groupby("p").size())
    prec = tp / pred_pairs if pred_pairs else 1.0
    rec = tp / true_pairs if true_pairs else 1.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {"precision": prec, "recall": rec, "f1": f1, "true_pairs": true_pairs,
            "predicted_pairs": pred_pairs, "tp": tp}


def _load_synth(folder: Path) -> pd.DataFrame:
    """Person records as stage 1 builds them (load, clean, one row per person_ref) + truth."""
    from vaxreport import io as vio  # only with --source synth
    from vaxreport.cleansing import audit
    from vaxreport.linkage.persons import person_records
    from vaxreport.params import RunParams
    from vaxreport.runner.stages import clean_params

    p = RunParams.from_yaml(folder / "params.yaml")
    raw = vio.load_inputs(p.inputs).doses
    cleaned = audit.clean_doses(raw, params=clean_params(p))
    persons = person_records(cleaned.data).reset_index(drop=True)
    truth = pd.read_parquet(folder / "truth" / "persons_truth.parquet")
    out = persons.merge(truth[["person_ref", "person_id"]], on="person_ref", how="left")
    cols = [c for c in LINKED if c in out.columns]
    return out[["person_id", *cols]]


def _load(args: argparse.Namespace) -> pd.DataFrame:
    """The test bed: person records with ``person_ref`` and the ``person_id`` truth."""
    if args.source == "own":
        data = generate(args.records, args.seed)
        return data.assign(person_ref="r" + pd.Series(np.arange(len(data))).astype(str))
    if args.source in sources.FEBRL:
        return sources.load_febrl(args.source, args.work)
    if args.scale is not None:  # the bench harness's cached person records of a synth province
        import run_bench

        path = args.work / f"dedup-{args.scale:g}" / "persons.parquet"
        if not path.exists():  # made once; run_bench.py --only dedup remakes it when code changes
            path, _ = run_bench.prepare_persons(args.scale, args.work)
        df = pd.read_parquet(path).rename(columns={"true_person_id": "person_id"})
        return df[["person_id", "person_ref", *[c for c in LINKED if c in df.columns]]]
    return _load_synth(args.dir)


def _variant(data: pd.DataFrame, args: argparse.Namespace) -> pd.DataFrame:
    if args.names:
        kind, _, share = args.names.partition(":")
        if kind != "minority":
            raise SystemExit(f"--names must be minority[:share], got {args.names!r}")
        data = sources.minority_names(data, float(share or 0.1), args.seed)
    if args.drop:
        data = sources.drop_fields(data, args.drop, args.seed)
    return data


def _run_peer(tool: str, data: pd.DataFrame, folder: Path) -> dict[str, float]:
    """One peer in its own venv (bench/peers/<tool>_dedup.py), scored like vaxreport."""
    import run_bench

    folder.mkdir(parents=True, exist_ok=True)
    src, out = folder / "persons.parquet", folder / f"labels-{tool}.parquet"
    sources.peer_frame(data).to_parquet(src, index=False)
    py = run_bench.venv_python(tool)
    r = run_bench.measure([str(py), str(HERE / "peers" / f"{tool}_dedup.py"), str(src), str(out)],
                          log=folder / f"{tool}.log")
    if r["rc"] != 0:
        return {"failed": 1.0}
    d = run_bench.last_json(r["stdout"])
    lab = pd.read_parquet(out).set_index("person_ref")["cluster"]
    labels = data["person_ref"].astype(str).map(lab).fillna("_solo_" + data["person_ref"].astype(str))
    return {**pairwise(data["person_id"].to_numpy(), labels.to_numpy()), "seconds": d["seconds"],
            "cpu": d.get("cpu_seconds", float("nan")), "peak_gb": r["peak_gb"]}


def _line(tool: str, q: dict[str, float]) -> str:
    if "failed" in q:
        return f"| {tool} | failed (see the log) | | | | | |"
    return (f"| {tool} | {q['precision']:.4f} | {q['recall']:.4f} | {q['f1']:.4f} | "
            f"{q.get('seconds', float('nan')):.2f} | {q.get('cpu', float('nan')):.2f} | "
            f"{q.get('peak_gb', float('nan')):.2f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1_300_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--source", choices=["own", "synth", *sources.FEBRL], default="own")
    ap.add_argument("--dir", type=Path, default=Path("outputs/synth"),
                    help="a `vaxreport synth` folder (inputs/, params.yaml, truth/)")
    ap.add_argument("--scale", type=float, default=None,
                    help="with --source synth: synthesise (once, cached in --work) at this scale")
    ap.add_argument("--work", type=Path, default=HERE / "_work",
                    help="scratch folder (cached test beds, peers' inputs and labels)")
    ap.add_argument("--drop", default="", help="blank fields: phone,gender,id_number:0.5")
    ap.add_argument("--names", default="", help="minority[:share of persons, default 0.1]")
    ap.add_argument("--peers", default="", help="also run these peers: splink,recordlinkage")
    ap.add_argument("--threshold", type=float, default=None)
    ap.add_argument("--workers", type=int, default=None,
                    help="threads of cluster_persons (default: its own, the usable CPUs ≤ 2)")
    ap.add_argument("--errors", type=int, default=0, help="print this many FP/FN examples")
    args = ap.parse_args()

    t0 = time.perf_counter()
    data = _variant(_load(args), args).reset_index(drop=True)
    t_gen = time.perf_counter() - t0
    persons = data[[c for c in ("person_ref", *LINKED) if c in data.columns]]
    t0, c0 = time.perf_counter(), time.process_time()
    labels = linkage.cluster_persons(persons, threshold=args.threshold, workers=args.workers)
    t_dedup, c_dedup = time.perf_counter() - t0, time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    linkage.survivors(persons, labels)
    t_surv, c_surv = time.perf_counter() - t0, time.process_time() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    n_cand = len(linkage.candidate_pairs(persons)) if len(persons) <= 2_000_000 else -1
    q = pairwise(data["person_id"].to_numpy(), labels.to_numpy())
    variant = " ".join(f"--{k} {v}" for k, v in (("drop", args.drop), ("names", args.names)) if v)
    print(f"source={args.source} {variant} records={len(persons):,} true persons="
          f"{data['person_id'].nunique():,} clusters={labels.nunique():,} (gen {t_gen:.1f}s)")
    print(f"candidate pairs {n_cand:,}; true pairs {q['true_pairs']:,}; "
          f"predicted pairs {q['predicted_pairs']:,}")
    print(f"precision {q['precision']:.4f}  recall {q['recall']:.4f}  F1 {q['f1']:.4f}")
    print(f"dedup {t_dedup:.1f}s wall, {c_dedup:.1f}s CPU (all threads; workers "
          f"{worker_count(args.workers)}) = "
          f"{len(persons) / t_dedup:,.0f} records/s wall; peak RSS {peak:.2f} GB "
          f"(whole process)")
    print(f"survivors {t_surv:.1f}s wall, {c_surv:.1f}s CPU")
    rows = [_line("vaxreport", {**q, "seconds": t_dedup, "cpu": c_dedup, "peak_gb": peak}),
            _line("exact ID", pairwise(data["person_id"].to_numpy(), sources.exact_id_labels(data)))]
    tag = "-".join(x for x in (args.source, f"{args.scale:g}" if args.scale else "",
                               args.drop.replace(",", "_").replace(":", ""),
                               args.names.replace(":", "")) if x)
    for tool in filter(None, args.peers.split(",")):
        rows.append(_line(tool, _run_peer(tool, data, args.work / f"case-{tag}")))
    print("| tool | P | R | F1 | link s | CPU s | peak GB |\n|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    if args.errors:
        _show_errors(data, labels, args.errors)


def _show_errors(data: pd.DataFrame, labels: pd.Series, k: int) -> None:
    df = data.assign(label=labels.to_numpy())
    # false negatives: true persons split over clusters
    split = df.groupby("person_id")["label"].nunique()
    for pid in split[split > 1].index[:k]:
        print("--- FN person", pid)
        print(df[df.person_id == pid].to_string())
    mixed = df.groupby("label")["person_id"].nunique()
    for lab in mixed[mixed > 1].index[:k]:
        print("--- FP cluster", lab)
        print(df[df.label == lab].to_string())


if __name__ == "__main__":
    main()
