from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class NodeSubmitRecord(_message.Message):
    __slots__ = ("type", "op", "version", "source_id", "fields")
    class FieldsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TYPE_FIELD_NUMBER: _ClassVar[int]
    OP_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    type: str
    op: str
    version: int
    source_id: str
    fields: _containers.ScalarMap[str, str]
    def __init__(self, type: _Optional[str] = ..., op: _Optional[str] = ..., version: _Optional[int] = ..., source_id: _Optional[str] = ..., fields: _Optional[_Mapping[str, str]] = ...) -> None: ...

class NodeSubmitRequest(_message.Message):
    __slots__ = ("records",)
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[NodeSubmitRecord]
    def __init__(self, records: _Optional[_Iterable[_Union[NodeSubmitRecord, _Mapping]]] = ...) -> None: ...

class NodeViolation(_message.Message):
    __slots__ = ("field", "field_name", "rule", "reason", "message", "fix")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    FIELD_NAME_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FIX_FIELD_NUMBER: _ClassVar[int]
    field: str
    field_name: str
    rule: str
    reason: str
    message: str
    fix: str
    def __init__(self, field: _Optional[str] = ..., field_name: _Optional[str] = ..., rule: _Optional[str] = ..., reason: _Optional[str] = ..., message: _Optional[str] = ..., fix: _Optional[str] = ...) -> None: ...

class NodeSubmitResult(_message.Message):
    __slots__ = ("index", "accepted", "source_seq", "source_id", "violations")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    SOURCE_SEQ_FIELD_NUMBER: _ClassVar[int]
    SOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    VIOLATIONS_FIELD_NUMBER: _ClassVar[int]
    index: int
    accepted: bool
    source_seq: int
    source_id: str
    violations: _containers.RepeatedCompositeFieldContainer[NodeViolation]
    def __init__(self, index: _Optional[int] = ..., accepted: _Optional[bool] = ..., source_seq: _Optional[int] = ..., source_id: _Optional[str] = ..., violations: _Optional[_Iterable[_Union[NodeViolation, _Mapping]]] = ...) -> None: ...

class NodeSubmitResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[NodeSubmitResult]
    def __init__(self, results: _Optional[_Iterable[_Union[NodeSubmitResult, _Mapping]]] = ...) -> None: ...

class NodeStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class NodeStatusResponse(_message.Message):
    __slots__ = ("counts", "last_source_seq", "committed_seq", "gateway_reachable", "last_error", "last_sync_unix", "sync_state")
    class CountsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    LAST_SOURCE_SEQ_FIELD_NUMBER: _ClassVar[int]
    COMMITTED_SEQ_FIELD_NUMBER: _ClassVar[int]
    GATEWAY_REACHABLE_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    LAST_SYNC_UNIX_FIELD_NUMBER: _ClassVar[int]
    SYNC_STATE_FIELD_NUMBER: _ClassVar[int]
    counts: _containers.ScalarMap[str, int]
    last_source_seq: int
    committed_seq: int
    gateway_reachable: bool
    last_error: str
    last_sync_unix: float
    sync_state: str
    def __init__(self, counts: _Optional[_Mapping[str, int]] = ..., last_source_seq: _Optional[int] = ..., committed_seq: _Optional[int] = ..., gateway_reachable: _Optional[bool] = ..., last_error: _Optional[str] = ..., last_sync_unix: _Optional[float] = ..., sync_state: _Optional[str] = ...) -> None: ...

class NodeNudgeRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class NodeNudgeResponse(_message.Message):
    __slots__ = ("scheduled",)
    SCHEDULED_FIELD_NUMBER: _ClassVar[int]
    scheduled: bool
    def __init__(self, scheduled: _Optional[bool] = ...) -> None: ...
