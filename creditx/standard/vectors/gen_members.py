"""Test vectors for SEC-092 (member ids) and the registry's member entries: ``build(today)``.

Returns ``{"member-ids.json": {...}}``: pairs (member id, certificate region) with the verdict
each is meant to have — valid, or the words its refusal names — and member entries as a
registry carries them (with and without ``id``) with the member id they decode to. ``build``
recomputes every verdict with the reference code and raises if one differs. Pure.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from creditx.standard.member_ids import member_id_problem
from creditx.standard.registry import decode

DEPT = "11370000001992013Q"  # an illustrative USCC of a province-level department (GB 32100-valid)

# (member id, region, None when valid else a phrase of the refusal)
ID_CASES: tuple[tuple[str, str, str | None], ...] = (
    ("370100", "370100", None),  # a city platform: its region
    ("370000", "370000", None),  # the province-level node
    (DEPT, "370000", None),  # a department's own node
    (DEPT, "370100", "province-level"),  # departments are province-level
    ("370200", "370100", "is a region code"),  # another region's code
    ("370000", "370100", "is a region code"),
    ("371200", "371200", "neither a region code nor a valid"),  # Laiwu: no node region
    (DEPT.lower(), "370000", "neither a region code nor a valid"),  # not canonical
    (DEPT[:-1] + "0", "370000", "neither a region code nor a valid"),  # check character wrong
    ("", "370000", "neither a region code nor a valid"),
)


def _registry(members: list[dict[str, Any]]) -> bytes:
    obj = {"version": 1, "issued_at": "2026-01-01T00:00:00.000Z", "expires_at": "2027-01-01T00:00:00.000Z"}
    return json.dumps({**obj, "members": members}, ensure_ascii=False).encode()


ENTRY_CASES: tuple[tuple[dict[str, Any], str | None], ...] = (
    ({"region": "370100", "name": "济南市公共信用信息平台", "kind": "city", "grants": []}, "370100"),
    ({"region": "370000", "name": "山东省省级部门", "kind": "province", "grants": []}, "370000"),
    ({"id": DEPT, "region": "370000", "name": "山东省公安厅", "kind": "department", "grants": []}, DEPT),
    ({"id": DEPT, "region": "370000", "name": "山东省公安厅", "kind": "province", "grants": []}, None),
    ({"region": "370000", "name": "山东省公安厅", "kind": "department", "grants": []}, None),
    ({"id": DEPT, "region": "370100", "name": "山东省公安厅", "kind": "department", "grants": []}, None),
)


def _decoded_id(entry: dict[str, Any]) -> str | None:
    try:
        return decode(_registry([entry])).members[0].id
    except ValueError:
        return None


def build(today: dt.date) -> dict[str, Any]:
    ids = []
    for member, region, why in ID_CASES:
        problem = member_id_problem(member, region)
        if (problem is None) != (why is None) or (why is not None and why not in (problem or "")):
            raise AssertionError(f"member id vector ({member!r}, {region}): expected {why!r}, got {problem!r}")
        ids.append({"member": member, "region": region, "valid": why is None, **({"refusal": why} if why else {})})
    entries = []
    for entry, want in ENTRY_CASES:
        got = _decoded_id(entry)
        if got != want:
            raise AssertionError(f"registry member vector {entry}: expected id {want!r}, got {got!r}")
        entries.append({"member": entry, "id": want, "valid": want is not None})
    return {
        "member-ids.json": {
            "requirements": ["SEC-092", "SEC-038"],
            "member_ids": ids,
            "registry_members": entries,
        }
    }
