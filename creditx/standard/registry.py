"""The member registry: who may speak for which deciding body, as signed data (SEC-036 … SEC-039).

Pure: dataclasses, the canonical JSON form, and the one authorisation rule. The gateway signs
the registry (DSSE envelope, payload type :data:`REGISTRY_PAYLOAD_TYPE`, ``creditx.standard.envelope``)
with its ``gateway-signing`` key; who reads it checks the signature, the expiry and that the
version never goes back.

* A **member** is a node identity (SEC-092…094): a city platform (id = its city code), the
  province-level node (id = 370000), to which province-level departments without a node of
  their own are granted, or a province-level department with its own node (id = its
  统一社会信用代码, region 370000, kind ``department``). A member's JSON ``id`` is absent when it
  is the region, so registries written before 1.6 decode unchanged.
* A **grant** names a deciding body by its 统一社会信用代码 (许可机关 / 处罚机关 / 认定机关) and the
  record types and list types the member may send for it.
* :func:`authorise` is the one rule, for the gateway's worker check and the node's import alike:
  the record's region is the member's (``SEC_REGION_MISMATCH``, SEC-032), and its deciding body
  is granted to the member for that record type and list type (``SEC_AUTHORITY_NOT_GRANTED``,
  SEC-036). Because the natural key begins with the deciding body, a correction, removal or
  delisting (a new version of a key) passes only for a member granted the body that holds the
  current version (SEC-037).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from creditx.standard.canonical import canonicalize
from creditx.standard.divisions import REGIONS
from creditx.standard.envelope import Envelope, SignatureError, verify_envelope
from creditx.standard.member_ids import member_id_problem
from creditx.standard.record import RECORD_TYPES

REGISTRY_PAYLOAD_TYPE = "application/vnd.creditx.registry+json;v=1"
# record type -> field holding the deciding body's USCC (the first part of its natural key)
AUTHORITY_FIELDS: dict[str, str] = {"XZXK": "XK_XKJGDM", "XZCF": "CF_CFJGDM", "LIST": "MD_RDJGDM"}
REGION_MISMATCH = "SEC_REGION_MISMATCH"
NOT_GRANTED = "SEC_AUTHORITY_NOT_GRANTED"


class RegistryError(ValueError):
    """A registry that cannot be read or used, with the reason code (SEC-038)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason, self.message = reason, message


@dataclass(frozen=True)
class Grant:
    uscc: str
    name: str
    record_types: tuple[str, ...] = RECORD_TYPES
    list_types: tuple[str, ...] = ()  # () = every list type (LIST records only)

    def allows(self, record_type: str, list_type: str) -> bool:
        return record_type in self.record_types and (
            record_type != "LIST" or not self.list_types or list_type in self.list_types
        )


MEMBER_KINDS = ("city", "province", "department")


@dataclass(frozen=True)
class Member:
    region: str  # the region URI of its certificates (SEC-011): the records it may send
    name: str
    kind: str  # "city", "province" (the 370000 node) or "department" (its own node, SEC-093)
    grants: tuple[Grant, ...] = ()
    id: str = ""  # the node identity (SEC-092): its certificates' member URI; "" = the region

    def __post_init__(self) -> None:
        if not self.id:
            object.__setattr__(self, "id", self.region)

    def grant(self, uscc: str) -> Grant | None:
        return next((g for g in self.grants if g.uscc == uscc), None)


@dataclass(frozen=True)
class Registry:
    version: int
    issued_at: str  # RFC 3339 UTC
    expires_at: str
    members: tuple[Member, ...] = field(default=())

    def member(self, member_id: str) -> Member | None:
        """The member a node identity names (its member id: the region for a city platform)."""
        return next((m for m in self.members if m.id == member_id), None)


@dataclass(frozen=True)
class Refusal:
    reason: str
    requirement: str
    field: str
    message: str
    fix: str


def authorise(
    member: Member | None, member_region: str, record_type: str, record_region: str, fields: Mapping[str, str]
) -> Refusal | None:
    """The one authorisation rule (SEC-032, SEC-036, SEC-037); None when the record may be sent."""
    if record_region != member_region:
        scope = "province-level records only" if member_region == "370000" else "records of its own region only"
        return Refusal(
            REGION_MISMATCH,
            "SEC-032",
            "region",
            f"record region {record_region} is not this node's region {member_region}: a node sends {scope}",
            "send the record through the node of its region",
        )
    auth_field = AUTHORITY_FIELDS.get(record_type, "")
    uscc = (fields.get(auth_field) or "").strip().upper()
    list_type = (fields.get("MD_LX") or "").strip() if record_type == "LIST" else ""
    grant = member.grant(uscc) if member is not None else None
    if grant is None or not grant.allows(record_type, list_type):
        what = f"{record_type}{'/' + list_type if list_type else ''}"
        who = "no member registry entry" if member is None else f"member {member.name} ({member.id})"
        return Refusal(
            NOT_GRANTED,
            "SEC-036",
            auth_field,
            f"{who} is not granted deciding body {uscc or '(empty)'} for {what}; only the body that "
            "decided a record, through the member it is granted to, may send, correct or remove it",
            "ask the provincial operator to grant the body to this member "
            "(creditx gateway members grant), or send the record through the member that holds it",
        )
    return None


def to_json(reg: Registry) -> dict[str, object]:
    return {
        "version": reg.version,
        "issued_at": reg.issued_at,
        "expires_at": reg.expires_at,
        "members": [
            {
                **({"id": m.id} if m.id != m.region else {}),
                "region": m.region,
                "name": m.name,
                "kind": m.kind,
                "grants": [
                    {
                        "uscc": g.uscc,
                        "name": g.name,
                        "record_types": list(g.record_types),
                        "list_types": list(g.list_types),
                    }
                    for g in m.grants
                ],
            }
            for m in reg.members
        ],
    }


def encode(reg: Registry) -> bytes:
    """The signed bytes: RFC 8785 canonical JSON (chapter 03)."""
    return canonicalize(to_json(reg))


def decode(data: bytes) -> Registry:
    """Parse a registry payload; RegistryError(REGISTRY_MALFORMED) naming what is wrong."""
    try:
        obj = json.loads(data)
        members = []
        for m in obj["members"]:
            if m["region"] not in REGIONS:
                raise ValueError(f"member region {m['region']!r} is not a Shandong node region")
            grants = tuple(
                Grant(str(g["uscc"]), str(g["name"]), tuple(g["record_types"]), tuple(g["list_types"]))
                for g in m["grants"]
            )
            member = Member(str(m["region"]), str(m["name"]), str(m["kind"]), grants, str(m.get("id") or ""))
            problem = member_id_problem(member.id, member.region)
            if problem:
                raise ValueError(problem)
            if member.kind not in MEMBER_KINDS or (member.kind == "department") != (member.id != member.region):
                raise ValueError(
                    f"member {member.id}: kind {member.kind!r} must be one of {', '.join(MEMBER_KINDS)}, "
                    'and "department" exactly when the member has an id of its own (SEC-093)'
                )
            members.append(member)
        if len({m.id for m in members}) != len(members):
            raise ValueError("a member id appears twice")
        return Registry(int(obj["version"]), str(obj["issued_at"]), str(obj["expires_at"]), tuple(members))
    except (ValueError, KeyError, TypeError) as exc:
        raise RegistryError("REGISTRY_MALFORMED", f"not a member registry: {exc}") from None


def open_registry(envelope_json: bytes, resolve_key: Callable[[str], Any]) -> Registry:
    """The registry inside a signed envelope (DSSE JSON) whose signature verifies with a key
    ``resolve_key`` knows (the gateway's signing key); RegistryError(REGISTRY_SIGNATURE) otherwise."""
    try:
        env = Envelope.from_json(envelope_json)
        verify_envelope(env, resolve_key, expected_type=REGISTRY_PAYLOAD_TYPE)
    except SignatureError as exc:
        raise RegistryError("REGISTRY_SIGNATURE", f"{exc.reason}: {exc.detail}") from None
    return decode(env.payload)


def acceptable(new: Registry, held: Registry | None, now: str) -> None:
    """SEC-038: refuse an expired registry or one older than the one held (RFC 3339 UTC strings
    of one format compare as times)."""
    if new.expires_at <= now:
        raise RegistryError("REGISTRY_EXPIRED", f"registry version {new.version} expired at {new.expires_at}")
    if held is not None and new.version < held.version:
        raise RegistryError(
            "REGISTRY_ROLLBACK",
            f"registry version {new.version} is older than the version {held.version} already accepted",
        )
