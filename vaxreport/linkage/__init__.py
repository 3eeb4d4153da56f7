"""Stage 1, second half: the same person found across records (probabilistic linkage), doses
reconciled per person, identities checked against the police's population-registry extract.

Person linkage — entity resolution: blocking, rapidfuzz comparisons, Fellegi–Sunter scoring,
guarded transitive clustering, survivor records and explanations.

The pipeline of :func:`cluster_persons`:

1. **Prepare** each field once on its unique values: names folded (``text.fold``: marks
   stripped, đ→d, lower case, single spaces) and split Vietnamese style into surname (first
   token), middle and given name (last token); birth dates parsed to (year, month, day) from
   datetime64 or strings; gender read by the cleansing's parser; phones reduced to digits
   (``+84``/``84`` and the 2018 11→10-digit migration undone, the cleansing's table); identity
   numbers of any shape reduced to letters and digits and told apart by kind
   (:data:`~.prepare.ID_KINDS`: 12-digit CCCD, 9-digit CMND, passport — one or two letters and
   6–8 digits —, any other document number of 5–15 characters), each compared only with its
   own kind and length (a CMND and a CCCD of one person are not comparable, never "different").
2. **Block**: candidate pairs come from several cheap keys (:data:`BLOCKING_RULES`): ID and ID
   pigeonhole keys (any one typo or adjacent transposition leaves one key intact), phone,
   token-sorted name + birth year, given name + birth date with day/month order ignored, surname +
   birth date, name + commune, name + day/month, birth date + commune, birth date (day/month in
   either order) + the address's first number (house number: free-text lists without a commune).
   A block with more than ``cap`` records (a phone shared by a whole site, "Nguyễn Văn An" born
   1990) only pairs each record with its ``window`` neighbours in name/date order: never a
   cross product.
3. **Compare** each field to an agreement level (:data:`LEVELS`) with vectorised numpy on integer
   codes and :func:`rapidfuzz.process.cpdist` on the *unique* pairs of name strings.
4. **Score**: the match weight is the sum of per-field log2(m/u) (Fellegi–Sunter).  ``u`` comes
   from the data itself: exact-agreement levels use the smoothed frequency of the shared value
   (term-frequency adjustment: "Nguyễn" or "An" weigh little, a rare given name a lot; a full
   name by its own frequency, not the product of its parts'; gender by the share of men among
   bearers of the given name), other levels the probability that two random records agree at
   that level, computed exactly from the value frequencies.  ``m`` start from reasoned priors
   (:data:`M_PRIORS`) and are estimated from the table by EM (:func:`.model.fit_em`).  Two records
   sharing a household-sized phone or address are scored in a *household regime*
   (:data:`.priors.HOUSEHOLD_U`, also estimated by EM on household pairs): surname, birth date and given
   name then use u conditional on two different members of one household, so parents, children
   and twins sharing a phone or an address are not merged on that evidence; two different real
   given names with one birth date in one place are scored as possible siblings (the birth
   date's agreement weighed with the household u, :func:`.model.siblings`).  Address implies
   commune: the stronger agreement counts once, and two communes' difference counts alone;
   within one commune an address that is not the same counts by the chain rule, with m and u
   conditional on the commune (EM on the pairs of one commune; u from pairs drawn within
   communes).  Each level's u is computed as the level is defined (a given-name "typo" is never
   two real given names: those are "another_name").  Two communes of one district are a level
   of their own (GSO codes, a retired code read as its successor).  The records' **dose
   histories** (column ``doses`` of :func:`.persons.person_records`) are compared too
   (:func:`.compare.dose_levels`: one dose on both records, doses too close for one person,
   one record's doses all after the other's — numbered on or from 1 again —, interleaved),
   u from pairs of one birth year, m by EM, household u in the household regime, and no match
   weight for possible twins (:func:`.model.possible_twins`).
5. **Decide and cluster**: pairs with weight ≥ ``threshold`` (default: the prior log-odds of a
   random pair being a match, :func:`default_threshold`, with the duplicate rate EM estimates,
   plus :data:`MERGE_ODDS_BITS`) are joined transitively, and so are the pairs of the
   *exact-identifier floor* (:func:`.score.identifier_floor`: a valid identifier held by at
   most :data:`~.priors.ID_FLOOR_MAX_RECORDS` records and one more agreeing field — birth
   date, name or address — unless the household guard explains the shared number: two real
   given names, or a household's records with another given name or birth year).  A cluster
   that ends up holding two incompatible IDs or birth dates (not typos of each other) is
   rebuilt from its strongest links only, never joining incompatible records through a chain
   (Kruskal with cannot-links); two values a direct link joins stay joined (that link's weight
   has counted their disagreement), except two CCCDs that both fit the birth year.

Names need not follow the Vietnamese pattern: a one-edit typo in a one-word or
out-of-vocabulary name is a typo; a dropped, split or moved word is tolerated
(:func:`.compare.names_overlap`, :func:`.compare.end_word_dropped`); two names ending in the
same word that is not a Vietnamese given name are read as a family name written last
("John Smith" / "Thomas Smith", "Y Bhin Niê" / "Y Ngông Niê": two people); the sibling guard
("another name") applies only where both given names are real Vietnamese given names.
Missing values weigh nothing.

The records are read in one canonical order (:func:`.cluster.canonical_order`: by person code,
then by content), so every tie-break — the first appearance of a value, the neighbours of an
oversized block, the household sample, the order of EM's float sums — is the same whatever order
the rows come in: the partition depends on the records, never on their order or partitioning.
Labels are the smallest row position (0-based) of each cluster, aligned to the input index;
stage 1 then names each cluster by its content, the stable ``person_id`` of
:func:`.persons.person_ids` (derived from the cluster's smallest person code, whatever the
row order).

The modules, in that order: :mod:`.priors` (the model's constants), :mod:`.prepare` (1),
:mod:`.blocking` (2), :mod:`.compare` (3), :mod:`.model` and :mod:`.score` (4), :mod:`.cluster`
(5), :mod:`.explain` (why two records were merged, survivors, the merge audit); :mod:`.threads`
runs blocking and scoring on worker threads.  Clerical review: :mod:`.decisions` (an analyst's
``same`` / ``different`` decisions, replayed every run: joins, and cuts at the weakest links of
:mod:`.graph`) and :mod:`.review` (the queue of pairs near the threshold, most doses at stake
first).  Month to month: :mod:`.replay` (last month's decisions replayed on the records that did
not change, so that only new or changed records move a person) and :mod:`.carry` (last month's
ids carried over, the changes listed).  Then :mod:`.persons` (person records of the dose table, stable person ids),
:mod:`.doses` (reconciliation) and :mod:`.verify` (identity checks).

Examples:
    >>> import pandas as pd
    >>> df = pd.DataFrame({
    ...     "full_name": ["Nguyễn Văn An", "Nguyen Van An", "Nguyễn Thị Bình", "Nguyễn Văn An"],
    ...     "birth_date": ["12/03/1990", "03/12/1990", "01/01/1960", "12/03/1990"],
    ...     "id_number": ["019090000123", None, None, "019090000213"],
    ...     "phone": ["0912345678", "0912345678", "0912345678", None],
    ... })
    >>> cluster_persons(df).tolist()
    [0, 0, 2, 0]
"""

from vaxreport.linkage.blocking import BLOCKING_RULES, candidate_pairs
from vaxreport.linkage.cluster import cluster_persons
from vaxreport.linkage.explain import PairExplanation, explain_pair, merge_audit, survivors
from vaxreport.linkage.model import MERGE_ODDS_BITS, default_threshold
from vaxreport.linkage.prepare import FIELDS
from vaxreport.linkage.priors import LEVELS, M_PRIORS
from vaxreport.linkage.score import score_pairs

__all__ = [
    "BLOCKING_RULES",
    "FIELDS",
    "LEVELS",
    "MERGE_ODDS_BITS",
    "M_PRIORS",
    "PairExplanation",
    "candidate_pairs",
    "cluster_persons",
    "default_threshold",
    "explain_pair",
    "merge_audit",
    "score_pairs",
    "survivors",
]
