from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ReasonCount(_message.Message):
    __slots__ = ("reason_code", "count")
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    reason_code: str
    count: int
    def __init__(self, reason_code: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class NodeStatus(_message.Message):
    __slots__ = ("region", "name", "connected", "last_seen", "committed_seq", "backlog", "last_source_seq", "accepted", "duplicate", "superseded", "rejected", "recent_rejections", "auth_cert_not_after", "signing_cert_not_after", "applied_list_seq", "list_lag_entries", "list_lag_seconds")
    REGION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONNECTED_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_FIELD_NUMBER: _ClassVar[int]
    COMMITTED_SEQ_FIELD_NUMBER: _ClassVar[int]
    BACKLOG_FIELD_NUMBER: _ClassVar[int]
    LAST_SOURCE_SEQ_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    SUPERSEDED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    RECENT_REJECTIONS_FIELD_NUMBER: _ClassVar[int]
    AUTH_CERT_NOT_AFTER_FIELD_NUMBER: _ClassVar[int]
    SIGNING_CERT_NOT_AFTER_FIELD_NUMBER: _ClassVar[int]
    APPLIED_LIST_SEQ_FIELD_NUMBER: _ClassVar[int]
    LIST_LAG_ENTRIES_FIELD_NUMBER: _ClassVar[int]
    LIST_LAG_SECONDS_FIELD_NUMBER: _ClassVar[int]
    region: str
    name: str
    connected: bool
    last_seen: str
    committed_seq: int
    backlog: int
    last_source_seq: int
    accepted: int
    duplicate: int
    superseded: int
    rejected: int
    recent_rejections: _containers.RepeatedCompositeFieldContainer[ReasonCount]
    auth_cert_not_after: str
    signing_cert_not_after: str
    applied_list_seq: int
    list_lag_entries: int
    list_lag_seconds: float
    def __init__(self, region: _Optional[str] = ..., name: _Optional[str] = ..., connected: _Optional[bool] = ..., last_seen: _Optional[str] = ..., committed_seq: _Optional[int] = ..., backlog: _Optional[int] = ..., last_source_seq: _Optional[int] = ..., accepted: _Optional[int] = ..., duplicate: _Optional[int] = ..., superseded: _Optional[int] = ..., rejected: _Optional[int] = ..., recent_rejections: _Optional[_Iterable[_Union[ReasonCount, _Mapping]]] = ..., auth_cert_not_after: _Optional[str] = ..., signing_cert_not_after: _Optional[str] = ..., applied_list_seq: _Optional[int] = ..., list_lag_entries: _Optional[int] = ..., list_lag_seconds: _Optional[float] = ...) -> None: ...

class StatusResponse(_message.Message):
    __slots__ = ("gateway_id", "nodes", "audit_size", "server_time_unix_ms", "list_head", "ingest_refusal", "checkpoint_size", "checkpoint_signed_at", "checkpoint_error")
    GATEWAY_ID_FIELD_NUMBER: _ClassVar[int]
    NODES_FIELD_NUMBER: _ClassVar[int]
    AUDIT_SIZE_FIELD_NUMBER: _ClassVar[int]
    SERVER_TIME_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    LIST_HEAD_FIELD_NUMBER: _ClassVar[int]
    INGEST_REFUSAL_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_SIZE_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_SIGNED_AT_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_ERROR_FIELD_NUMBER: _ClassVar[int]
    gateway_id: str
    nodes: _containers.RepeatedCompositeFieldContainer[NodeStatus]
    audit_size: int
    server_time_unix_ms: int
    list_head: int
    ingest_refusal: str
    checkpoint_size: int
    checkpoint_signed_at: str
    checkpoint_error: str
    def __init__(self, gateway_id: _Optional[str] = ..., nodes: _Optional[_Iterable[_Union[NodeStatus, _Mapping]]] = ..., audit_size: _Optional[int] = ..., server_time_unix_ms: _Optional[int] = ..., list_head: _Optional[int] = ..., ingest_refusal: _Optional[str] = ..., checkpoint_size: _Optional[int] = ..., checkpoint_signed_at: _Optional[str] = ..., checkpoint_error: _Optional[str] = ...) -> None: ...

class FindRecordsRequest(_message.Message):
    __slots__ = ("region", "type", "natural_key", "fingerprint", "limit", "page_token")
    REGION_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    NATURAL_KEY_FIELD_NUMBER: _ClassVar[int]
    FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    region: str
    type: str
    natural_key: str
    fingerprint: bytes
    limit: int
    page_token: str
    def __init__(self, region: _Optional[str] = ..., type: _Optional[str] = ..., natural_key: _Optional[str] = ..., fingerprint: _Optional[bytes] = ..., limit: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class StoredRecord(_message.Message):
    __slots__ = ("id", "node", "source_seq", "outcome", "reason_code", "requirement", "field", "fingerprint", "natural_key", "version", "type", "region", "op", "current", "log_index", "received_at", "payload")
    ID_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_SEQ_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    REQUIREMENT_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    NATURAL_KEY_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    OP_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    LOG_INDEX_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_AT_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    id: int
    node: str
    source_seq: int
    outcome: str
    reason_code: str
    requirement: str
    field: str
    fingerprint: bytes
    natural_key: str
    version: int
    type: str
    region: str
    op: str
    current: bool
    log_index: int
    received_at: str
    payload: bytes
    def __init__(self, id: _Optional[int] = ..., node: _Optional[str] = ..., source_seq: _Optional[int] = ..., outcome: _Optional[str] = ..., reason_code: _Optional[str] = ..., requirement: _Optional[str] = ..., field: _Optional[str] = ..., fingerprint: _Optional[bytes] = ..., natural_key: _Optional[str] = ..., version: _Optional[int] = ..., type: _Optional[str] = ..., region: _Optional[str] = ..., op: _Optional[str] = ..., current: _Optional[bool] = ..., log_index: _Optional[int] = ..., received_at: _Optional[str] = ..., payload: _Optional[bytes] = ...) -> None: ...

class FindRecordsResponse(_message.Message):
    __slots__ = ("records", "next_page_token")
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[StoredRecord]
    next_page_token: str
    def __init__(self, records: _Optional[_Iterable[_Union[StoredRecord, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
