"""The candidate pool of a territory from INSEE's SIRENE stock files (docs/contract.md §1.7):
streaming the files (``stock``), placing the units (``establishments``), their fields (``units``),
and the merge with the store (``pool``)."""
