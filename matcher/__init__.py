"""Reprise: find who could take over a firm in difficulty, ranked and explained.

By stage and by user: ``contract`` (the files users script against), ``reference`` (NAF,
sectors, geography, territories), ``store`` (every SQL statement), ``ranking`` (candidates,
comparison, scores: the advisor's question), ``scan`` (the daily batch), ``learning`` (the
analysts' retraining), ``demo``, ``cli``. ``errors`` and ``settings`` are shared by all. The
advisor API lives in the separate package ``api``, which imports ``matcher``, never the reverse.
"""

__version__ = "0.2.0"
