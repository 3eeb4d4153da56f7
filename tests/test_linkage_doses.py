"""The records' dose histories as linkage evidence (issue 14, part 3): one person who moved holds
complementary doses on two records (joined), two namesakes born the same day hold doses of one
campaign each (kept apart); the twin/sibling guard and the household guard still hold when the
doses look complementary; ``explain_pair`` shows the level."""

from __future__ import annotations

import numpy as np
import pandas as pd
from linkage_cases import BASE, background

from vaxreport import linkage
from vaxreport.linkage import explain_pair
from vaxreport.linkage.cluster import link_persons
from vaxreport.linkage.priors import LEVELS


def _campaign(n: int, seed: int = 5) -> list[str]:
    """Dose histories of ``n`` people vaccinated in one campaign: dose 1 over three months,
    dose 2 eight weeks later, a booster for some."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2021-07-01") + pd.to_timedelta(rng.integers(0, 90, n), unit="D")
    out = []
    for k, d in enumerate(start):
        doses = [f"{d:%Y-%m-%d}#1", f"{d + pd.Timedelta(days=56):%Y-%m-%d}#2"]
        if k % 3 == 0:
            doses.append(f"{d + pd.Timedelta(days=200):%Y-%m-%d}#3")
        out.append(" ".join(doses))
    return out


def _movers() -> list[dict]:
    """30 people who moved: a record at home with two doses, one elsewhere with the booster."""
    out = []
    for k in range(30):
        home = {"full_name": f"{['Lý', 'Đinh', 'Mai', 'Tạ', 'Hà', 'Lương'][k % 6]} Văn "
                             f"{['Tài', 'Lực', 'Kha', 'Phát', 'Thịnh'][k // 6]}",
                "birth_date": f"{1 + k % 28:02d}/{1 + k % 12:02d}/{1960 + k}", "gender": "M",
                "id_number": None, "phone": None, "commune_code": f"05{400 + k % 30}",
                "address": f"Xóm {k % 7}, xã {k % 30}", "doses": "2021-08-03#1 2021-09-28#2"}
        out += [home, {**home, "commune_code": f"05{401 + k % 29}", "address": None,
                       "doses": "2022-03-15#3"}]
    return out


def _namesakes() -> list[dict]:
    """Twelve other men named like HOME (a common name), born in other years."""
    return [{"full_name": HOME["full_name"], "birth_date": f"{1 + k:02d}/0{1 + k % 9}/{1950 + 3 * k}",
             "gender": "M", "commune_code": f"05{400 + k}", "address": f"Xóm {k}, xã {k}",
             "doses": "2021-09-01#1 2021-10-27#2"} for k in range(12)]


def _people() -> pd.DataFrame:
    """Background people vaccinated in one campaign, HOME's namesakes and the movers (true
    duplicates)."""
    bg = background()
    return pd.concat([bg.assign(doses=_campaign(len(bg))), pd.DataFrame(_namesakes() + _movers())],
                     ignore_index=True)


#: One person, no ID or phone on the records, who moved to another commune.
HOME = {"full_name": "Trần Văn Long", "birth_date": "02/05/1979", "gender": "M", "id_number": None,
        "phone": None, "commune_code": "05410", "address": "Xóm 2, xã 10",
        "doses": "2021-08-03#1 2021-09-28#2"}
MOVED = {**HOME, "commune_code": "05422", "address": None}


def _same(a: dict, b: dict, bg: pd.DataFrame | None = None) -> bool:
    df = pd.concat([_people() if bg is None else bg, pd.DataFrame([a, b])], ignore_index=True)
    labels = linkage.cluster_persons(df)
    return bool(labels.iloc[-1] == labels.iloc[-2])


def _level(a: dict, b: dict) -> str:
    e = explain_pair(a, b, persons=_people())
    return str(e.table.set_index("comparison").loc["doses", "level"])


def test_a_moved_person_with_complementary_doses_is_one_person() -> None:
    later = {**MOVED, "doses": "2022-03-15#3"}
    renumbered = {**MOVED, "doses": "2022-03-15#1"}
    assert _same(HOME, later) and _same(HOME, renumbered)
    assert _level(HOME, later) == "sequential"
    assert _level(HOME, renumbered) == "renumbered"


def test_namesakes_vaccinated_in_one_campaign_stay_apart() -> None:
    other = {**MOVED, "doses": "2021-08-10#1 2021-10-05#2"}  # a week after HOME's: two people
    assert _level(HOME, other) == "too_close"
    assert not _same(HOME, other)
    interleaved = {**MOVED, "doses": "2021-08-20#1 2021-10-15#2"}
    e = explain_pair(HOME, interleaved, persons=_people()).table.set_index("comparison")
    assert e.loc["doses", "level"] == "interleaved" and e.loc["doses", "weight"] < 0


def test_doses_are_what_decides_these_pairs() -> None:
    """The same two records without a dose history weigh between the two: complementary doses
    carry them over the threshold, doses of one campaign keep them under it."""
    bare = {k: v for k, v in HOME.items() if k != "doses"}
    moved_bare = {k: v for k, v in MOVED.items() if k != "doses"}
    people = _people()
    without = explain_pair(bare, moved_bare, persons=people)
    seq = explain_pair(HOME, {**MOVED, "doses": "2022-03-15#3"}, persons=people)
    close = explain_pair(HOME, {**MOVED, "doses": "2021-08-10#1 2021-10-05#2"}, persons=people)
    assert close.total < without.total < seq.total
    assert seq.is_match and not close.is_match


def test_twins_in_one_hamlet_stay_apart_whatever_their_doses() -> None:
    """Two real given names, one birth date, one address (siblings): complementary-looking doses
    add no weight for a match."""
    twin_a = {"full_name": "Hoàng Đình Dũng", "birth_date": "14/07/2005", "commune_code": "05500",
              "address": "Xóm Na Mao, Xã La Hiên", "phone": None, "gender": None, "id_number": None,
              "doses": "2021-11-02#1"}
    twin_b = {**twin_a, "full_name": "Hoàng Đình Hùng", "doses": "2022-01-20#2"}
    assert not _same(twin_a, twin_b)
    e = explain_pair(twin_a, twin_b, persons=_people())
    row = e.table.set_index("comparison").loc["doses"]
    assert "sequential" in row["level"] and "(possible twins" in row["level"] and row["weight"] <= 0.0


def test_household_guard_holds_with_complementary_doses() -> None:
    """A parent's ID typed on the child's record (one household phone and address, another given
    name and birth year): still two people when the child's doses follow the parent's."""
    parent = {**BASE, "doses": "2021-08-03#1 2021-09-28#2"}
    child = {**BASE, "full_name": "Nguyễn Văn An", "birth_date": "05/06/2010",
             "doses": "2022-04-20#1 2022-05-25#2"}
    assert not _same(parent, child)
    e = explain_pair(parent, child, persons=_people())
    assert "(household)" in e.table.set_index("comparison").loc["doses", "level"]


def test_em_learns_the_dose_levels() -> None:
    """From the movers among campaign histories, EM's m of "sequential" rises above its u, and
    "too close" and "interleaved" weigh against a match."""
    res = link_persons(_people(), None)
    m, u = res.model.m["doses"], res.model.u["doses"]
    assert set(m) == set(LEVELS["doses"][1:])
    assert m["sequential"] > 4 * u["sequential"]
    assert m["too_close"] < u["too_close"] and m["interleaved"] < u["interleaved"]
    labels = linkage.cluster_persons(_people())
    assert labels.iloc[72:].nunique() == 30  # every mover joined, no two movers mixed
