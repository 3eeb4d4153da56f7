"""The model's constants: agreement levels, m priors, household-conditional u, term-frequency
shrinkage, u priors, the duplicate-rate range.  They are documented priors: change them here,
they are not buried in the code (the method they feed is stated in :mod:`vaxreport.linkage`).
"""

from __future__ import annotations

#: Agreement levels of each comparison; level 0 is always "missing / not comparable" (weight 0).
LEVELS: dict[str, tuple[str, ...]] = {
    "given": ("missing", "exact", "accent_differs", "typo", "different", "another_name"),
    "surname_middle": ("missing", "exact", "partial", "different"),
    "birth_date": ("missing", "exact", "day_month_swapped", "one_digit", "same_year", "different"),
    "id_number": ("missing", "exact", "one_edit", "different"),
    "gender": ("missing", "same", "different"),
    "phone": ("missing", "exact", "one_digit", "different"),
    # "same_district": two communes of one district (GSO codes, :mod:`vaxreport.refdata`)
    "commune": ("missing", "same", "different", "same_district"),
    "address": ("missing", "same", "similar", "different"),
    # the records' dose histories (:func:`vaxreport.linkage.compare.dose_levels`)
    "doses": ("missing", "same_date", "sequential", "renumbered", "interleaved", "too_close"),
}

#: m = P(level | same person), reasoned priors.  Data-entry error rates on the platform are a few
#: per cent per field (DOMAIN.md §1: names typed without diacritics — folded away here —, typos,
#: swapped day/month, wrong gender); people change phone and commune between registrations more
#: often than their name or birth date; the same person may show a 9-digit CMND on one record and
#: a 12-digit CCCD on another (then the IDs are "not comparable", not "different").
M_PRIORS: dict[str, dict[str, float]] = {
    "given": {"exact": 0.93, "accent_differs": 0.01, "typo": 0.055, "different": 0.004,
              "another_name": 0.001},
    "surname_middle": {"exact": 0.88, "partial": 0.10, "different": 0.02},
    "birth_date": {"exact": 0.88, "day_month_swapped": 0.04, "one_digit": 0.05,
                   "same_year": 0.015, "different": 0.015},
    "id_number": {"exact": 0.93, "one_edit": 0.05, "different": 0.02},
    "gender": {"same": 0.97, "different": 0.03},
    "phone": {"exact": 0.70, "one_digit": 0.03, "different": 0.27},
    "commune": {"same": 0.80, "different": 0.12, "same_district": 0.08},
    "address": {"same": 0.55, "similar": 0.10, "different": 0.35},
    # one person's two records mostly hold complementary doses: a second record takes the doses
    # given after a move (numbered on, or from 1 again), or one dose entered on both
    "doses": {"same_date": 0.15, "sequential": 0.45, "renumbered": 0.25, "interleaved": 0.10,
              "too_close": 0.05},
}

#: m of the address given that the commune agrees (both addresses known): the chain rule
#: P(commune, address | match) = P(commune | match) · P(address | commune, match), so that a
#: different or merely similar address within one commune counts against the pair instead of
#: being ignored beside the commune's agreement (two neighbours with one name and birth date).
#: Estimated by EM (:func:`vaxreport.linkage.model.fit_em`) from the pairs in one commune, so a
#: province whose clerks write one address many ways learns that a different text costs little.
ADDRESS_IN_COMMUNE_M: dict[str, float] = {"same": 0.80, "similar": 0.10, "different": 0.10}

#: Households share a phone (DESIGN.md: phone agreement alone is weak evidence; children carry
#: the head's surname).  Two records sharing a phone used by at most
#: :data:`HOUSEHOLD_MAX_RECORDS` records are scored in the *household regime*: the phone
#: agreement itself is strong evidence (term-frequency u), but the other comparisons then use u
#: conditional on being two different members of one household — surnames are mostly shared,
#: twins share a birth date, siblings never share a given name — and commune/address agreement
#: adds nothing (implied).  This is what keeps parents, children and twins apart.
HOUSEHOLD_U: dict[str, dict[str, float]] = {
    # siblings' given names: two real Vietnamese names ("another_name"), or, in families named
    # otherwise (minorities, foreigners), simply "different"
    "given": {"exact": 0.01, "accent_differs": 0.01, "typo": 0.05, "different": 0.30,
              "another_name": 0.63},
    "surname_middle": {"exact": 0.5, "partial": 0.2, "different": 0.3},
    "birth_date": {"exact": 0.02, "day_month_swapped": 0.002, "one_digit": 0.005,
                   "same_year": 0.1, "different": 0.87},
    # a relative's ID typed on the record (DOMAIN.md, error kind 2) happens within households
    "id_number": {"exact": 0.005, "one_edit": 0.001, "different": 0.99},
    # a family is often vaccinated on one day at one site
    "doses": {"same_date": 0.40, "sequential": 0.05, "renumbered": 0.05, "interleaved": 0.20,
              "too_close": 0.30},
}
#: A phone shared by more records than this is a site's or a village head's, not a household's.
HOUSEHOLD_MAX_RECORDS = 8

#: Pseudo-count (records) shrinking value frequencies to the field's prior frequency: it makes
#: term-frequency weights sane on small tables (a name seen twice among three rows is not common).
TF_PSEUDO_RECORDS = 2000.0
#: Prior frequency of a value when the table is too small to tell.
TF_PRIOR: dict[str, float] = {"given": 0.01, "surname_middle": 0.02, "birth_date": 1 / 25_000,
                              "id_number": 1e-7, "phone": 1e-6, "address": 1e-4}
#: Pseudo-count (records) shrinking a given name's male share to the table's.
GENDER_PSEUDO_RECORDS = 20.0
#: Chance agreement of the non-exact levels in a large province (u of two random records), the
#: values small tables are shrunk towards (same weight as :data:`TF_PSEUDO_RECORDS`).
U_PRIORS: dict[str, dict[str, float]] = {
    "given": {"typo": 0.03, "different": 0.10, "another_name": 0.85},
    "surname_middle": {"partial": 0.05, "different": 0.9},
    "birth_date": {"day_month_swapped": 2e-5, "one_digit": 4e-4, "same_year": 0.015,
                   "different": 0.97},
    "gender": {"same": 0.5, "different": 0.5},
    "commune": {"same": 0.01, "different": 0.89, "same_district": 0.10},
    "address": {"same": 0.002, "similar": 0.002, "different": 0.996},
    "doses": {"same_date": 0.02, "sequential": 0.05, "renumbered": 0.05, "interleaved": 0.38,
              "too_close": 0.50},
}
#: Two doses of one person are at least this many days apart (no COVID-19 schedule spaces doses
#: closer; a dose entered twice has one date): two records holding doses on two dates closer than
#: this are two people, or a dose-date typo (:data:`LEVELS` ``doses`` "too_close").
DOSE_MIN_GAP_DAYS = 14
#: Random pairs of records (of one birth year) sampled to estimate the u of the dose levels.
DOSE_U_PAIRS = 30_000
#: Two given names one edit apart are both "real" (so the pair is not a typo) when both are valid
#: Vietnamese syllables and, in tables of at least REAL_NAME_MIN_TABLE rows, each is borne by at
#: least this share of the records (a typo's product is rare: "Tuấ", "Hy" for "Huy").
REAL_NAME_MIN_SHARE = 5e-5
REAL_NAME_MIN_TABLE = 20_000
#: Share of records that duplicate another: sets the default threshold (prior odds).  It is
#: estimated from the table (records merged at the 10 % prior), then clipped to this range.
DUPLICATE_RATE_RANGE = (0.01, 0.30)
#: Two free-text addresses are "similar" when their token-set similarity (rapidfuzz
#: ``token_set_ratio`` of the folded texts) reaches this: the same words give or take a few
#: typos, a dropped line or another order ("12 archibald street the willows cleveland" /
#: "12 archibaldd street cleveland").  u is the share of random pairs that are (from the data).
ADDRESS_SIMILAR_MIN = 85.0
#: Random pairs of records sampled to estimate the u of similar addresses.
ADDRESS_U_PAIRS = 30_000
#: The exact-identifier floor (:func:`vaxreport.linkage.score.identifier_floor`): an identifier
#: held by at most this many records is "rare" — a person's own, not a placeholder or a number
#: typed on a whole family's records.
ID_FLOOR_MAX_RECORDS = 4
#: Floor of any u, so that no single agreement is worth more than ~25 bits.
U_FLOOR = 1e-8
