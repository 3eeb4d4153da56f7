"""The seed report and its province: Báo cáo 2102/BC-SYT of Thái Nguyên (31/5/2022).

At ``scale=1`` the synthetic province's totals equal the report's: 2,924,867 doses administered,
2,756,537 dose rows on the platform (duplicates included), 2,496,793 of them signed, 2,628
feedback tickets all handled, 200,763 persons checked by police. Other scales multiply them.

Examples:
    >>> scaled_totals(0.001)["dose_rows"]
    2757
"""

from __future__ import annotations

from dataclasses import dataclass, field

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


#: CCCD province-of-birth codes of people living in Thái Nguyên (019 most, neighbours next).
CCCD_ORIGIN: dict[str, float] = {
    "019": 0.86, "006": 0.02, "008": 0.012, "024": 0.015, "020": 0.008, "001": 0.02,
    "002": 0.004, "004": 0.005, "025": 0.006, "026": 0.005, "027": 0.005, "030": 0.004,
    "033": 0.003, "034": 0.004, "036": 0.004, "038": 0.004, "040": 0.004, "022": 0.003,
    "031": 0.003, "079": 0.002, "010": 0.002, "015": 0.002, "017": 0.002, "037": 0.002,
}


@dataclass(frozen=True)
class SynthProvince:
    """Which province a synthetic export is of (default: Thái Nguyên, the embedded province).

    Attributes:
        code: 2-digit GSO code; name: its name in the admin table.
        district_population: residents per district (communes share them).
        cccd_origin: CCCD province-of-birth codes of its residents and their shares.
        hospitals: province-level hospitals (sites of the province capital's district, codes
            ``<code>0000<i>``, or ``<code>00000<i>`` with a ``code_prefix``).
        code_prefix: put before every record id, person code, true person id and ticket id, so
            that several provinces' exports can be joined without two rows sharing a code (the
            platform's codes are national); empty for a province written alone.
    """

    code: str = PROVINCE_CODE
    name: str = PROVINCE_NAME
    district_population: dict[str, int] = field(default_factory=lambda: dict(DISTRICT_POPULATION))
    cccd_origin: dict[str, float] = field(default_factory=lambda: dict(CCCD_ORIGIN))
    hospitals: tuple[str, ...] = ("Bệnh viện Trung ương Thái Nguyên", "Bệnh viện A Thái Nguyên",
                                  "Trung tâm Kiểm soát bệnh tật tỉnh Thái Nguyên", "Bệnh viện Quốc tế Thái Nguyên")
    code_prefix: str = ""

    @classmethod
    def of(cls, code: str, *, code_prefix: str = "") -> SynthProvince:
        """Any province of the admin table: Thái Nguyên's figures for "19", else districts weighted
        by their number of communes, residents mostly born there (CCCD code ``0<code>``).

        >>> p = SynthProvince.of("06", code_prefix="06")
        >>> p.name, len(p.district_population), p.hospitals[0]
        ('Bắc Kạn', 8, 'Bệnh viện đa khoa tỉnh Bắc Kạn')
        """
        from vaxreport import refdata

        if code == PROVINCE_CODE:
            return cls(code_prefix=code_prefix)
        d = refdata.districts(code, on=PERIOD_END.astype("datetime64[D]").item())
        name = str(d["province_name"].iloc[0])
        own = f"0{code}"
        origin = {own: 0.9, **{c: 0.1 * w for c, w in CCCD_ORIGIN.items() if c != own}}
        return cls(code=code, name=name,
                   district_population={c: int(n) * 10_000 for c, n in zip(d["district_code"], d["n_communes"])},
                   cccd_origin={c: w / sum(origin.values()) for c, w in origin.items()},
                   hospitals=(f"Bệnh viện đa khoa tỉnh {name}", f"Trung tâm Kiểm soát bệnh tật tỉnh {name}"),
                   code_prefix=code_prefix)


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
