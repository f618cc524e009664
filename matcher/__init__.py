"""Reprise: find who could take over a firm in difficulty, ranked and explained.

The engine is three stages, as in record linkage: ``candidates`` (who is considered, and why the
others are excluded), ``compare`` (pairwise features, vectorised), ``rank`` (scorers and
explanations). ``engine.Engine`` is the facade over an in-memory candidate index.
"""

__version__ = "0.1.0"
