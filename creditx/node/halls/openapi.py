"""The OpenAPI 3.1 document of the HTTP hall API (served at ``/openapi.json``). Data only."""

from __future__ import annotations

_SUBJECT = {
    "type": "object",
    "minProperties": 1,
    "maxProperties": 1,
    "description": "exactly one of: uscc (统一社会信用代码), registration_number (工商注册号), "
    "person (证件类型 + 证件号码; hashed on arrival, never stored, answered masked)",
    "properties": {
        "uscc": {"type": "string", "example": "91370102MA3C4XYZ1K"},
        "registration_number": {"type": "string"},
        "person": {
            "type": "object",
            "required": ["id_number"],
            "properties": {"id_type": {"type": "string", "default": "身份证"}, "id_number": {"type": "string"}},
        },
    },
}
_CHECK = {
    "type": "object",
    "required": ["subject"],
    "properties": {
        "subject": {"$ref": "#/components/schemas/Subject"},
        "matter": {
            "type": "string",
            "description": "matter code (e.g. ZFCG-GYS-001) or matter category "
            "(e.g. GOV_PROCUREMENT) of the measures list; empty: every measure",
        },
        "department": {"type": "string", "description": "requesting department code (e.g. CZ); must be the caller's"},
        "list_types": {"type": "array", "items": {"type": "string"}, "description": "only these list types"},
    },
}
_MEASURE = {
    "type": "object",
    "properties": {
        "measure_id": {"type": "string"},
        "kind": {"type": "string", "enum": ["惩戒", "激励"]},
        "mandatory": {"type": "boolean"},
        "text": {"type": "string"},
        "basis": {"type": "string", "description": "《备忘录/法规》（文号） 条款"},
        "list_types": {"type": "array", "items": {"type": "string"}},
    },
}
_ANSWER = {
    "type": "object",
    "description": "same fields as creditx.v1.CheckResponse (proto field names)",
    "properties": {
        "memberships": {"type": "array", "items": {"type": "object"}},
        "history": {"type": "array", "items": {"type": "object"}},
        "applied_list_seq": {"type": "string", "description": "uint64 as a decimal string"},
        "last_update_unix_ms": {"type": "string"},
        "stale": {"type": "boolean", "description": "the replica is older than the node's bound: fail closed"},
        "measures": {"type": "array", "items": {"$ref": "#/components/schemas/Measure"}},
        "incentives": {"type": "array", "items": {"$ref": "#/components/schemas/Measure"}},
        "records": {
            "type": "array",
            "items": {"type": "object"},
            "description": "the node's own penalties (XZCF) and licences (XZXK), with 异议 status",
        },
        "measures_version": {"type": "string"},
        "check_id": {"type": "string"},
        "subject_shown": {"type": "string", "description": "USCC, 注册号 or the masked ID number"},
    },
}
_ERROR = {"type": "object", "properties": {"error": {"type": "string"}, "hint": {"type": "string"}}}
_ERROR_REF = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
_ERRORS = {
    str(code): {"description": text, "content": _ERROR_REF}
    for code, text in (
        (400, "bad request: the message names the field and rule"),
        (401, "no department certificate or token"),
        (403, "not this caller's department or city"),
        (429, "rate limit exceeded"),
    )
}


def _post(summary: str, request: dict, response: dict) -> dict:
    return {
        "post": {
            "summary": summary,
            "security": [{"bearer": []}, {"mtls": []}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": request}}},
            "responses": {
                "200": {"description": "ok", "content": {"application/json": {"schema": response}}},
                **_ERRORS,
            },
        }
    }


OPENAPI: dict = {
    "openapi": "3.1.0",
    "info": {
        "title": "creditx hall API (信用核查 / 联合奖惩)",
        "version": "1",
        "description": "A city node's check for service-hall systems: list entries, the measures that apply to "
        "the matter, incentives, the node's own penalties and licences, replica freshness; and "
        "the department's action reports. Standard chapter 09 (HALL-…).",
    },
    "components": {
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "description": "creditx node tokens issue"},
            "mtls": {"type": "mutualTLS", "description": "department certificate of the provincial CA"},
        },
        "schemas": {
            "Subject": _SUBJECT,
            "CheckRequest": _CHECK,
            "Measure": _MEASURE,
            "CheckResponse": _ANSWER,
            "Error": _ERROR,
        },
    },
    "paths": {
        "/v1/check": _post(
            "check one subject for a matter",
            {"$ref": "#/components/schemas/CheckRequest"},
            {"$ref": "#/components/schemas/CheckResponse"},
        ),
        "/v1/check-many": _post(
            "check many subjects in one call (answers in order)",
            {
                "type": "object",
                "properties": {"checks": {"type": "array", "items": {"$ref": "#/components/schemas/CheckRequest"}}},
            },
            {
                "type": "object",
                "properties": {"answers": {"type": "array", "items": {"$ref": "#/components/schemas/CheckResponse"}}},
            },
        ),
        "/v1/actions": _post(
            "report what the department did with a check (signed by its certificate)",
            {
                "type": "object",
                "required": ["report", "certificate"],
                "properties": {
                    "report": {
                        "type": "object",
                        "description": "envelope JSON (payload_type application/vnd.creditx.action+json;v=1)",
                    },
                    "certificate": {"type": "string", "description": "department certificate, PEM"},
                },
            },
            {"type": "object", "properties": {"report_id": {"type": "string"}, "duplicate": {"type": "boolean"}}},
        ),
        "/healthz": {"get": {"summary": "liveness", "responses": {"200": {"description": "serving"}}}},
        "/openapi.json": {"get": {"summary": "this document", "responses": {"200": {"description": "OpenAPI 3.1"}}}},
    },
}
