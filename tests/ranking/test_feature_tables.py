"""The sector and value-chain features read from per-company tables equal their definitions
(shared NAF levels; value-chain neighbours by division), for every pair of sub-classes."""

from __future__ import annotations

import numpy as np

from matcher.ranking import compare
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
