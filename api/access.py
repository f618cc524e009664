"""Who may know what, and who may write what: the two rules every route applies.

**Knowing** (``matcher.contract.confidentiality``): a confidential case exists only for the
advisors of the poles that follow it; to every other key it does not exist — 404 like an absent
SIREN, absent from lists and counts, never an exclusion reason, never an audit row they can read.

**Writing**: an advisor writes (creates, changes, deletes) the cases of its own poles only: the
stored case must be followed by one of its poles, and so must the record it writes; a case
outside its poles is answered like an absent one. Analysts and admins do not write companies.
Candidates are written by advisors and admins. An outcome is authored by the key that records it
and is never overwritten by another key. Every write and deletion is audited.
"""

from __future__ import annotations

from typing import Any

from api.problems import Problem
from api.security import Principal
from matcher.contract.confidentiality import NO_CONFIDENTIAL, Viewer, may_know
from matcher.reference.territories import Poles

COMPANY_WRITE_ROLES = ("advisor",)         # the cases of its poles
CANDIDATE_WRITE_ROLES = ("advisor", "admin")
OUTCOME_ROLES = ("advisor", "analyst")    # record what happened with an option
ADMIN_ROLES = ("admin",)                  # keys, model reload, audit


def article(word: str) -> str:
    """``a`` or ``an`` before a word (the roles all begin with a vowel)."""
    return "an" if word[:1].lower() in "aeiou" else "a"


def require(principal: Principal, roles: tuple[str, ...], action: str) -> None:
    if principal.role not in roles:
        raise Problem(403, f"{article(principal.role)} {principal.role} key may not {action}; this needs a key "
                           f"with role {' or '.join(roles)}")


def viewer_of(principal: Principal) -> Viewer:
    """What a key may know of confidential cases: an advisor, those of its poles; others, none."""
    return Viewer(poles=principal.poles) if principal.role == "advisor" else NO_CONFIDENTIAL


def company_poles(company: dict[str, Any], poles: Poles) -> set[str]:
    """The poles following a case (``Poles.of_company``)."""
    return set(poles.of_company(company))


def can_see(principal: Principal, company: dict[str, Any], poles: Poles) -> bool:
    """Whether the case exists for this key (the one rule for knowing)."""
    return may_know(viewer_of(principal), company, poles.of_company(company))


# what an absent SIREN is checked against, so that it costs the work of a stored case
_STAND_IN: dict[str, Any] = {"confidential": True, "pole": None, "lat": 46.6, "lon": 2.4, "departement": None,
                             "commune": None, "postal_code": None}


def case_visible(principal: Principal, company: dict[str, Any] | None, poles: Poles) -> bool:
    """Whether the one case asked for exists for this key (``can_see``; False when ``company`` is
    None), doing the same work whatever the answer: an absent SIREN is checked against a stand-in,
    and a case's territory poles are computed even when its own ``pole`` decides, so an answer's
    time does not tell a hidden case from an absent one."""
    probe = _STAND_IN if company is None else company
    known = may_know(viewer_of(principal), probe, poles.of_company(probe, uniform=True))
    return company is not None and known


def may_write(principal: Principal, stored: dict[str, Any] | None, new: dict[str, Any] | None,
              poles: Poles) -> bool:
    """Whether this advisor may write (``new``) or delete (``new`` None) this case: the stored
    case, if any, and the new record must both be followed by one of its poles."""
    if principal.role not in COMPANY_WRITE_ROLES:
        return False
    return all(principal.poles & company_poles(row, poles) for row in (stored, new) if row is not None)


def outside_poles(siren: str) -> str:
    """The one answer to a write on a case outside the key's poles, whatever that case is (public
    or confidential, of another pole or of none): it tells nothing more than that."""
    return (f"siren {siren} is not a case of your poles: an advisor writes the cases of its own poles only "
            "(give `pole` as one of your poles, or ask the pole that follows it)")
