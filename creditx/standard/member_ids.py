"""Member ids: the node identity a certificate and the member registry name (SEC-092, SEC-093).

Pure. A city platform's and the province-level node's member id is its region code (so a
certificate without a member URI, as issued under 1.0, names the member of its region). A
province-level department that runs its own node is a member of its own: its id is the
department's 统一社会信用代码 (GB 32100, upper case, check characters valid), and its region is
always 370000 — a department is province-level; a city's departments send through their city's
platform.
"""

from __future__ import annotations

from creditx.standard.divisions import PROVINCE, REGIONS
from creditx.standard.identifiers import check_uscc

MEMBER_ID_RULE = "SEC-092"


def member_id_problem(member: str, region: str) -> str | None:
    """Why ``member`` cannot be the member id of a node of ``region`` (SEC-092), or None."""
    if member == region and region in REGIONS:
        return None
    if member in REGIONS:
        return f"member id {member} is a region code but the region is {region}: a region node's id is its own region"
    verdict = check_uscc(member)
    if not verdict.valid or verdict.normalised != member:
        why = verdict.reason or "not in canonical upper-case form"
        return (
            f"member id {member!r} is neither a region code nor a valid 统一社会信用代码 ({why}): "
            "a department's member id is its USCC, 18 characters, upper case"
        )
    if region != PROVINCE:
        return (
            f"member {member} names region {region}: a department member is province-level (region {PROVINCE}); "
            "a city's departments send through their city's platform"
        )
    return None
