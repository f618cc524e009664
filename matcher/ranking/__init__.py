"""Ranking, the advisor's question "who could take this company over?", in three stages as in
record linkage: candidates (``index``, ``spatial``, ``candidates``: who can reach the company and
why the others are excluded), comparison (``compare``: vectorised features per pair), scores
(``score``, ``explain``, ``results``). ``search`` holds the strategies that skip what cannot
rank; ``engine`` is the facade; ``batch`` and ``distributed`` rank many companies."""
