"""The sector and value-chain features read from per-company tables equal their definitions
(shared NAF levels; value-chain neighbours by division), for every pair of sub-classes."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from matcher.ranking import compare
from matcher.ranking.score import value_table
from matcher.reference import naf
from matcher.reference.value_chain import value_chain_matrix


def test_tables_equal_the_definitions_for_every_pair():
    nom = naf.nomenclature()
    others = np.arange(-1, len(nom.codes))  # -1: activity unknown
    known = others >= 0
    divisions = np.where(known, nom.divisions[np.maximum(others, 0)], 0)
    for q in range(len(nom.codes)):
        shared = np.zeros(len(others), dtype=np.int64)
        safe = np.maximum(others, 0)
        for level, column in enumerate((nom.sections, nom.divisions, nom.groups, nom.classes), start=1):
            shared[column[safe] == column[q]] = level
        shared[safe == q] = 5
        shared[~known] = 0
        assert np.array_equal(compare._sector_table(q)[others], compare.SECTOR_LEVEL_VALUE[shared]), nom.codes[q]
        division = int(nom.divisions[q])
        chain = value_chain_matrix()[division, divisions] & known
        assert np.array_equal(compare._chain_table(division)[others], chain.astype(np.float32)), nom.codes[q]
    assert value_chain_matrix().any()


def test_a_feature_of_one_column_equals_its_table_of_that_columns_values():
    """``value_table``: the feature for every value of the column it reads, looked up by a
    candidate's value, equals the feature computed for the candidate, whatever the company."""
    rng = np.random.default_rng(11)
    n = 5_000
    nom = naf.nomenclature()
    ix = SimpleNamespace(naf_idx=rng.integers(-1, len(nom.codes), n).astype(np.int16),
                         flags=rng.integers(0, 256, n).astype(np.uint8),
                         kind=rng.integers(0, len(compare.KIND_CODE), n).astype(np.int8))
    pos = rng.permutation(n)[:3_000]
    readers = [c for c in compare.CANDIDATE_COMPARISONS if c.reads is not None]
    assert {c.name for c in readers} == {"sector", "value_chain", "ess", "apprentices", "urgency"}
    for naf_code in (None, "43.32A", "10.71C", "56.10A"):
        for procedure, ess in (("liquidation", False), ("sauvegarde", True), ("none", False)):
            q = compare.Query(siren="802649921", naf=naf_code, lat=47.2, lon=-1.5, headcount=4.0,
                              revenue_eur=None, procedure=procedure, confidential=False, ess=ess,
                              legal_form=None, poles=[], cooperative_support=False)
            for comp in readers:
                expected = comp.compute(q, ix, pos, None)
                assert np.array_equal(value_table(comp, q)[getattr(ix, comp.reads)[pos]], expected), comp.name
