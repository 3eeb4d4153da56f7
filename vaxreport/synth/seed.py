"""The seed report and its province: Báo cáo 2102/BC-SYT of Thái Nguyên (31/5/2022).

At ``scale=1`` the synthetic province's totals equal the report's: 2,924,867 doses administered,
2,756,537 dose rows on the platform (duplicates included), 2,496,793 of them signed, 2,628
feedback tickets all handled, 200,763 persons checked by police. Other scales multiply them.

Examples:
    >>> scaled_totals(0.001)["dose_rows"]
    2757
"""

from __future__ import annotations

import numpy as np

SEED_TOTALS: dict[str, int] = {
    "doses_administered": 2_924_867,  # sum of site_tallies.doses_administered
    "dose_rows": 2_756_537,  # rows of doses.csv, injected duplicates included
    "signed": 2_496_793,  # rows with sign_status signed
    "feedback": 2_628,  # tickets, all handled (approved or rejected)
    "registry": 200_763,  # persons checked by police (rows of registry.csv)
}
PROVINCE_CODE = "19"
PROVINCE_NAME = "Thái Nguyên"
PERIOD_END = np.datetime64("2022-05-31", "D")
CAMPAIGN_START = np.datetime64("2021-03-08", "D")
REPORT_DATE = "2022-06-01"
END_SECOND = (int(PERIOD_END.astype(np.int64)) + 1) * 86_400 - 1  # last second of the period

#: 2019 census population of the pre-2025 districts (DOMAIN.md §8); communes share it.
DISTRICT_POPULATION: dict[str, int] = {
    "164": 340_403, "165": 69_382, "167": 89_288, "168": 102_292, "169": 92_421,
    "170": 68_080, "171": 171_703, "172": 196_378, "173": 156_804,
}


def scaled_totals(scale: float) -> dict[str, int]:
    """The seed report's totals at ``scale`` (half-up rounding).

    Examples:
        >>> scaled_totals(1.0)["signed"]
        2496793
        >>> scaled_totals(0.002)["feedback"]
        5
    """
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale!r}")
    return {k: int(np.floor(v * scale + 0.5)) for k, v in SEED_TOTALS.items()}
