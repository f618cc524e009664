"""Who may know about a case: the one rule for confidential cases.

A prevention procedure (mandat ad hoc, conciliation) is confidential by law, and a case marked
``confidential`` exists only for the advisors of the poles that follow it (its ``pole``, else
every pole whose territory contains it). To anyone else it does not exist: not in lists, counts
or exclusion reasons (a confidential case that is also a takeover candidate is, to them, a
candidate like any other), not in audit rows, error codes or response times.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Viewer:
    """What the one asking may know: ``poles`` it advises for confidential cases, or every case
    (``sees_all``: the store's operator on the command line, the daily batch)."""

    poles: frozenset[str] = frozenset()
    sees_all: bool = False

    def sees(self, case_poles: Iterable[str]) -> bool:
        """Whether a confidential case followed by ``case_poles`` exists for this viewer."""
        return self.sees_all or bool(self.poles & set(case_poles))

    def key(self) -> tuple:
        """What distinguishes two viewers' answers (for caches)."""
        return ("*",) if self.sees_all else tuple(sorted(self.poles))


OPERATOR = Viewer(sees_all=True)
NO_CONFIDENTIAL = Viewer()


def may_know(viewer: Viewer, company: Mapping[str, Any], case_poles: Iterable[str]) -> bool:
    """Whether ``viewer`` may know that ``company`` is stored: always for a public case, for a
    confidential one only when it advises one of ``case_poles``."""
    return not company.get("confidential") or viewer.sees(case_poles)
