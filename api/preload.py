"""What API worker processes share: imported once by the fork server they are forked from.

Importing this module imports the application and the libraries it serves with, builds the
sector inferer's tables and trains its model (liblinear, single-threaded); a worker forked
afterwards finds them in memory, shared copy-on-write with the other workers. Nothing here
opens a store, a file of the index or a thread.
"""

from __future__ import annotations

import gc

import api.main  # noqa: F401 - FastAPI, pydantic, SQLAlchemy and the routes
import matcher.learning.leaves
import matcher.learning.ranker
import matcher.ranking.engine  # noqa: F401
from matcher.reference import naf
from matcher.reference.sectors import default_inferer

naf.nomenclature()
default_inferer().model  # noqa: B018 - its statistical model trained here once, not in every worker

# Everything above lives as long as the workers: frozen out of the collector's reach, a worker's
# collections never walk it, so they never write to (and un-share) the pages it lives in.
gc.collect()
gc.freeze()
