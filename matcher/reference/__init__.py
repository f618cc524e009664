"""Reference knowledge: the NAF nomenclature and sectors from free text, geography, communes,
pole territories, value-chain neighbours, one text folding."""
