"""Checks of path and query parameters, with messages that name the parameter and the value."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from api.problems import invalid
from matcher.contract import identifiers, specs
from matcher.errors import InvalidRecord


def parse_siren(value: str, field: str = "siren") -> str:
    """A SIREN as stored (spaces removed), or 422 with the file import's wording."""
    try:
        return identifiers.parse_siren(value, field=field)
    except InvalidRecord as exc:
        raise invalid(field, value, str(exc)) from None


def path_siren(value: str) -> str:
    """A SIREN read from a path to look a record up: not 9 digits is a 422; 9 digits that fail
    the Luhn check name nothing stored, so the lookup answers 404 like any absent SIREN."""
    v = "".join(value.split())
    if v.isdigit() and len(v) == 9:
        return v
    return parse_siren(value)


def check_range(field: str, value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise invalid(field, value, f"{field} {value} is out of range; expected {low} to {high}")
    return value


def parse_kinds(text: str | None) -> list[str] | None:
    """``company,cooperative`` -> list; 422 naming the kinds that do not exist."""
    try:
        return specs.parse_kinds(text, field="kinds")
    except InvalidRecord as exc:
        raise invalid("kinds", text, str(exc)) from None


TRUE, FALSE = frozenset({"1", "true", "on", "yes"}), frozenset({"0", "false", "off", "no"})


def parse_int(field: str, text: str, low: int, high: int) -> int:
    """A whole number within [low, high], or 422 naming the field and the value."""
    try:
        value = int(text.strip())
    except ValueError:
        raise invalid(field, text, f"{field} {text} is not a whole number; expected {low} to {high}") from None
    return check_range(field, value, low, high)


def parse_bool(field: str, text: str) -> bool:
    """true/false, 1/0, yes/no, on/off (any case), or 422 naming the field and the value."""
    low = text.strip().lower()
    if low in TRUE or low in FALSE:
        return low in TRUE
    raise invalid(field, text, f"{field} {text} is not a boolean; expected true or false")


_QUERY_NAMES: dict[int, frozenset[str]] = {}


def _query_names(route: Any) -> frozenset[str]:
    names = _QUERY_NAMES.get(id(route))
    if names is None:
        found: set[str] = set()
        pending = [route.dependant]
        while pending:  # the endpoint's own parameters and those of its dependencies
            dependant = pending.pop()
            found.update(p.alias for p in dependant.query_params)
            pending.extend(dependant.dependencies)
        documented = (getattr(route, "openapi_extra", None) or {}).get("parameters", [])
        found.update(p["name"] for p in documented if p.get("in") == "query")  # read by the route itself
        names = _QUERY_NAMES[id(route)] = frozenset(found)
    return names


async def known_query(request: Request) -> None:  # async: no thread hop
    """A query parameter the endpoint does not take is a 422 naming it and the ones it takes:
    a misspelt filter (``?departemnt=35``) must not silently widen a list."""
    route = request.scope.get("route")
    if route is None:  # older Starlette: find the route by its endpoint
        endpoint = request.scope.get("endpoint")
        route = next((r for r in request.app.router.routes if getattr(r, "endpoint", None) is endpoint), None)
    if route is None or not hasattr(route, "dependant"):
        return
    allowed = _query_names(route)
    for name in request.query_params:
        if name not in allowed:
            takes = ", ".join(sorted(allowed)) if allowed else "no query parameters"
            raise invalid(name, request.query_params[name],
                          f"unknown query parameter {name!r}; this endpoint takes {takes}")
