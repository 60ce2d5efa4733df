"""A department's action report on a hall check (HALL-030): the signed payload, its rules and
the public part of a check id. Pure. Nodes check a report when it arrives; the gateway checks it
again when it is forwarded, with the same function.

Payload (RFC 8785 canonical JSON, payload_type ``application/vnd.creditx.action+json;v=1``)::

    {"v":1,"report_id":…,"check_id":…,"department":…,"matter":…,"measure_id":…,
     "action":"applied"|"not_applied"|"overridden","reason":…,"at":"YYYY-MM-DDTHH:MM:SSZ"}

A check id is ``<ms hex>.<nonce>.<matter category or ->.<hit list types joined by + or ->.<mac>``;
the MAC is the node's, the list types are readable by anyone (HALL-014).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from creditx.standard.canonical import canonicalize
from creditx.standard.errors import InputError

ACTION_PAYLOAD_TYPE = "application/vnd.creditx.action+json;v=1"
ACTIONS = ("applied", "not_applied", "overridden")
ACTION_KEYS = ("v", "report_id", "check_id", "department", "matter", "measure_id", "action", "reason", "at")
MAX_ACTION_PAYLOAD = 8192
_REPORT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def parse_action(payload: bytes) -> dict[str, str]:
    """HALL-030: the canonical action payload, checked field by field; InputError naming the rule."""
    try:
        obj = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"action report payload is not UTF-8 JSON: {exc} [HALL-030]") from None
    if not isinstance(obj, dict) or set(obj) != set(ACTION_KEYS) or obj.get("v") != 1:
        raise InputError(f"action report payload must have exactly the keys {list(ACTION_KEYS)} and v=1 [HALL-030]")
    out = {k: obj[k] for k in ACTION_KEYS if k != "v"}
    if not all(isinstance(v, str) for v in out.values()):
        raise InputError("action report: every field but v is a string [HALL-030]")
    if canonicalize(obj) != payload:
        raise InputError(
            "action report payload is not RFC 8785 canonical JSON [HALL-030]",
            hint="sign the canonical bytes (creditx.standard.canonical.canonicalize)",
        )
    if not _REPORT_ID.match(out["report_id"]):
        raise InputError("action report: report_id must be 1-64 characters of A-Z a-z 0-9 . _ : - [HALL-031]")
    if out["action"] not in ACTIONS:
        raise InputError(f"action report: action {out['action']!r} is not one of {', '.join(ACTIONS)} [HALL-030]")
    if out["action"] != "applied" and not out["reason"].strip():
        raise InputError(
            f"action report: action {out['action']} needs a reason [HALL-030]",
            hint="say why the measure was not applied or was overridden",
        )
    if len(out["reason"]) > 500:
        raise InputError("action report: reason is longer than 500 characters [HALL-030]")
    return out


def action_payload(
    *,
    report_id: str,
    check_id: str,
    department: str,
    matter: str,
    measure_id: str,
    action: str,
    reason: str = "",
    at: datetime,
) -> bytes:
    """The canonical payload a department signs."""
    return canonicalize(
        {
            "v": 1,
            "report_id": report_id,
            "check_id": check_id,
            "department": department,
            "matter": matter,
            "measure_id": measure_id,
            "action": action,
            "reason": reason,
            "at": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    )


def check_id_parts(check_id: str) -> tuple[str, str, tuple[str, ...], str]:
    """(body, matter category, hit list types, mac) of a check id; InputError if malformed."""
    body, _, mac = check_id.rpartition(".")
    parts = body.split(".")
    if len(parts) != 4 or not mac:
        raise InputError(
            f"check_id {check_id[:80]!r} is malformed [HALL-014]",
            hint="quote the check_id of the Check answer you act on",
        )
    category, types = parts[2], parts[3]
    return body, ("" if category == "-" else category), (() if types == "-" else tuple(types.split("+"))), mac


def department_code(common_name: str) -> str:
    """A department certificate's department code: its CN up to the first ':' (``CZ:hall-3`` → ``CZ``)."""
    return common_name.split(":", 1)[0]
