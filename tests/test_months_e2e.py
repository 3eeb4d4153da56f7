"""Two months end to end: the session's demo run is May; June is synthesised from it
(``synth.months.next_month``) and run with May as ``previous_run``, for one district.

Person ids carry over, and ``id_changes`` lists only clusters whose records changed between the
months (a corrected record, a person registered again) — the real merges and splits."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import vaxreport_cmd

from vaxreport import layout, runner
from vaxreport.synth.months import next_month

DISTRICT = "164"


@pytest.fixture(scope="module")
def june(demo_run: runner.RunResult, demo_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("june")
    data = root / "data"
    next_month(demo_data, data)
    params = yaml.safe_load((data / "params.yaml").read_text(encoding="utf-8"))
    params["previous_run"] = str(demo_run.out)
    (data / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True), encoding="utf-8")
    run = root / "2022-06"
    proc = subprocess.run(vaxreport_cmd("run", str(data / "params.yaml"), "--out", str(run), "--districts", DISTRICT),
                          capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return {"may": demo_run.out, "june": run, "data": data}


def _codes(run: Path) -> pd.Series:
    """``person_id`` of every person code of a run."""
    parts = [pd.read_parquet(layout.cleansed_dir(run) / f"{name}.parquet", columns=["person_ref", "person_id"])
             for name in ("doses", "merged_doses")]
    return pd.concat(parts).drop_duplicates("person_ref").set_index("person_ref")["person_id"]


def test_ids_carry_over_and_only_real_merges_and_splits_are_listed(june: dict[str, Path]) -> None:
    may, now = _codes(june["may"]), _codes(june["june"])
    changes = pd.read_parquet(layout.cleansed_dir(june["june"]) / "id_changes.parquet")
    truth = pd.read_parquet(june["data"] / "truth" / "changes.parquet")
    person_of = pd.read_parquet(june["data"] / "truth" / "persons_truth.parquet").set_index("person_ref")["person_id"]
    common = may.index.intersection(now.index)
    assert len(common) == len(may)  # a cumulative export: every code of May is still there
    moved = common[(may[common] != now[common]).to_numpy()]
    # every code whose id changed belongs to an old id listed as merged, split or moved
    listed = changes[changes["why"].isin(["merged", "split", "moved"])]
    assert set(may[moved]) <= set(listed["old_id"].astype("int64"))
    assert not changes["why"].eq("gone").any()
    # and every listed change touches a record corrected or registered again this month
    touched = set(truth.loc[truth["change"].isin(["corrected_record", "new_duplicate_person"]), "person_ref"])
    touched_persons = set(person_of.reindex(list(touched)))
    for row in listed.itertuples():
        codes = set(may.index[may.eq(row.old_id).to_numpy()]) | set(now.index[now.eq(row.new_id).to_numpy()])
        assert codes & touched or set(person_of.reindex(list(codes))) & touched_persons, row
        if row.why == "merged":  # a real merge: the two old persons are one true person
            old_true = set(person_of.reindex(may.index[may.eq(row.old_id).to_numpy()]))
            new_true = set(person_of.reindex(now.index[now.eq(row.new_id).to_numpy()]))
            assert old_true & new_true, row
    # most persons kept their id; new person codes joined persons or came as new ones
    assert (may[common] == now[common]).mean() > 0.99
    new_codes = now.index.difference(may.index)
    assert len(new_codes) == truth["change"].eq("new_duplicate_person").sum()
    assert changes.loc[changes["why"].eq("new"), "person_refs"].sum() <= len(new_codes)


def test_last_months_worklist_lines_followed_up_in_the_district_report(june: dict[str, Path]) -> None:
    """Every line of May's worklists is counted once (fixed or still open); lines about doses
    signed or records corrected in June are fixed; the district report states the district's
    counts, computed from them."""
    from pypdf import PdfReader

    from vaxreport.reporting.report.format import fmt_int, fmt_pct

    may_lines = pd.read_parquet(layout.worklists_table(june["may"]))
    june_lines = pd.read_parquet(layout.worklists_table(june["june"]))
    assert june_lines["person_id"].notna().all()
    summary = pd.read_parquet(layout.followup_table(june["june"]))
    assert summary["listed"].sum() == len(may_lines)
    assert (summary["fixed"] + summary["open"] == summary["listed"]).all()
    by_kind = summary.groupby("kind")[["listed", "fixed"]].sum()
    assert by_kind.loc["unsigned", "fixed"] > 0  # doses signed in June
    assert set(summary["previous_period"]) == {"2022-05"}
    truth = pd.read_parquet(june["data"] / "truth" / "changes.parquet")
    signed = set(truth.loc[truth["change"].eq("signed"), "record_id"])
    unsigned_may = may_lines[may_lines["kind"].eq("unsigned")]
    still = set(june_lines.loc[june_lines["kind"].eq("unsigned"), "record_id"])
    assert not (set(unsigned_may["record_id"]) & signed & still)  # a dose signed in June is off the list
    district = summary[summary["district_code"].eq(DISTRICT)]
    listed, fixed = int(district["listed"].sum()), int(district["fixed"].sum())
    pdf = next((june["june"] / "districts").glob(f"{DISTRICT}-*/report.pdf"))
    text = "".join(page.extract_text() for page in PdfReader(pdf).pages).replace("\n", " ")
    text = " ".join(text.split())
    assert f"có {fmt_int(listed)} bản ghi cần sửa" in text
    assert f"{fmt_int(fixed)} bản ghi đã được sửa ({fmt_pct(fixed, listed)})" in text


@pytest.mark.parametrize("drift", ["split", "merge"])
def test_unchanged_persons_keep_their_ids_when_the_model_drifts(june: dict[str, Path], tmp_path: Path,
                                                               drift: str) -> None:
    """June linked at a threshold moved just past a pair of unchanged records (the weakest link
    inside one of May's persons, or the strongest pair across two): afresh, that person would be
    split or merged although none of their records changed (the constructed drift); stage 1
    replays May's decisions on them, so every id change it lists holds a record new or changed
    in June, while June's new records join the persons they join afresh."""
    from dataclasses import replace

    from vaxreport.linkage.carry import carry_ids
    from vaxreport.linkage.cluster import link_persons
    from vaxreport.linkage.persons import person_ids, person_records
    from vaxreport.linkage.replay import change_causes, changed_codes
    from vaxreport.params import RunParams
    from vaxreport.runner.previous import last_month
    from vaxreport.runner.stages import StageOne

    p = RunParams.from_yaml(june["data"] / "params.yaml")
    s = StageOne(p, tmp_path / "2022-06")
    s.load()
    s.cleanse()
    persons = person_records(s.cleaned.data)
    last = last_month(p, s.run_dir, persons)
    assert last is not None and last.run == june["may"].resolve()
    res = link_persons(persons, None)
    ca, cb = last.prior.cluster[res.near.a], last.prior.cluster[res.near.b]
    unchanged = (ca >= 0) & (cb >= 0)
    if drift == "split":
        threshold = res.near.weight[unchanged & (ca == cb) & (res.near.weight >= res.threshold)].min() + 1e-3
    else:  # the highest threshold at which afresh scoring joins two of May's persons of unchanged records
        threshold = None
        for candidate in np.arange(res.threshold - 0.25, 0.0, -0.25):
            low = link_persons(persons, float(candidate))
            la, lb = last.prior.cluster[low.a], last.prior.cluster[low.b]
            if ((la >= 0) & (lb >= 0) & (la != lb)).any():
                threshold = float(candidate)
                break
        assert threshold is not None, "no threshold joins two of May's persons: no merge drift to replay"
    s.p = replace(p, thresholds=replace(p.thresholds, dedup_threshold=float(threshold)))
    s.link()
    previous = last.records[["person_ref", "person_id"]]
    changed = changed_codes(persons["person_ref"], last.prior, last.records)

    def unexplained(ids: pd.Series, changes: pd.DataFrame) -> int:
        now = pd.DataFrame({"person_ref": persons["person_ref"].to_numpy(), "person_id": ids.to_numpy()})
        return int(change_causes(changes, previous, now, changed).eq("").sum())

    afresh = person_ids(persons, pd.Series(link_persons(persons, threshold).labels, index=persons.index))
    before = carry_ids(persons["person_ref"], afresh, previous)
    assert unexplained(before.ids, before.changes) > 0  # the drift is there
    assert unexplained(s.labels, s.id_changes) == 0
    # June's new records join the same persons of May as they would afresh
    new = ~persons["person_ref"].isin(set(previous["person_ref"])).to_numpy()
    assert new.any()
    may_of = previous.set_index("person_ref")["person_id"].reindex(persons["person_ref"]).to_numpy()

    def joined(ids: pd.Series) -> list[set[int]]:
        cluster = ids.to_numpy()
        return [set(may_of[(cluster == c) & ~new].tolist()) for c in cluster[new]]

    assert joined(s.labels) == joined(afresh)
