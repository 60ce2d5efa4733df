from creditx.v1 import envelope_pb2 as _envelope_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Outcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OUTCOME_UNSPECIFIED: _ClassVar[Outcome]
    ACCEPTED: _ClassVar[Outcome]
    DUPLICATE: _ClassVar[Outcome]
    SUPERSEDED: _ClassVar[Outcome]
    REJECTED: _ClassVar[Outcome]
OUTCOME_UNSPECIFIED: Outcome
ACCEPTED: Outcome
DUPLICATE: Outcome
SUPERSEDED: Outcome
REJECTED: Outcome

class HandshakeRequest(_message.Message):
    __slots__ = ("node_name", "protocol_version", "software", "signing_certificates")
    NODE_NAME_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    SOFTWARE_FIELD_NUMBER: _ClassVar[int]
    SIGNING_CERTIFICATES_FIELD_NUMBER: _ClassVar[int]
    node_name: str
    protocol_version: int
    software: str
    signing_certificates: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, node_name: _Optional[str] = ..., protocol_version: _Optional[int] = ..., software: _Optional[str] = ..., signing_certificates: _Optional[_Iterable[bytes]] = ...) -> None: ...

class HandshakeResponse(_message.Message):
    __slots__ = ("committed_seq", "max_batch_records", "max_message_bytes", "max_in_flight_batches", "gateway_id", "region", "gateway_signing_certificate", "member_registry", "audit_origin", "lists_origin", "origin_signing_certificates", "checkpoint_size")
    COMMITTED_SEQ_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_RECORDS_FIELD_NUMBER: _ClassVar[int]
    MAX_MESSAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_IN_FLIGHT_BATCHES_FIELD_NUMBER: _ClassVar[int]
    GATEWAY_ID_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    GATEWAY_SIGNING_CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    MEMBER_REGISTRY_FIELD_NUMBER: _ClassVar[int]
    AUDIT_ORIGIN_FIELD_NUMBER: _ClassVar[int]
    LISTS_ORIGIN_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_SIGNING_CERTIFICATES_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_SIZE_FIELD_NUMBER: _ClassVar[int]
    committed_seq: int
    max_batch_records: int
    max_message_bytes: int
    max_in_flight_batches: int
    gateway_id: str
    region: str
    gateway_signing_certificate: bytes
    member_registry: bytes
    audit_origin: str
    lists_origin: str
    origin_signing_certificates: _containers.RepeatedScalarFieldContainer[bytes]
    checkpoint_size: int
    def __init__(self, committed_seq: _Optional[int] = ..., max_batch_records: _Optional[int] = ..., max_message_bytes: _Optional[int] = ..., max_in_flight_batches: _Optional[int] = ..., gateway_id: _Optional[str] = ..., region: _Optional[str] = ..., gateway_signing_certificate: _Optional[bytes] = ..., member_registry: _Optional[bytes] = ..., audit_origin: _Optional[str] = ..., lists_origin: _Optional[str] = ..., origin_signing_certificates: _Optional[_Iterable[bytes]] = ..., checkpoint_size: _Optional[int] = ...) -> None: ...

class SignedRecord(_message.Message):
    __slots__ = ("source_seq", "envelope")
    SOURCE_SEQ_FIELD_NUMBER: _ClassVar[int]
    ENVELOPE_FIELD_NUMBER: _ClassVar[int]
    source_seq: int
    envelope: _envelope_pb2.Envelope
    def __init__(self, source_seq: _Optional[int] = ..., envelope: _Optional[_Union[_envelope_pb2.Envelope, _Mapping]] = ...) -> None: ...

class PushRequest(_message.Message):
    __slots__ = ("batch_id", "records", "backlog", "checkpoint", "consistency_proof")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    BACKLOG_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    CONSISTENCY_PROOF_FIELD_NUMBER: _ClassVar[int]
    batch_id: int
    records: _containers.RepeatedCompositeFieldContainer[SignedRecord]
    backlog: int
    checkpoint: str
    consistency_proof: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, batch_id: _Optional[int] = ..., records: _Optional[_Iterable[_Union[SignedRecord, _Mapping]]] = ..., backlog: _Optional[int] = ..., checkpoint: _Optional[str] = ..., consistency_proof: _Optional[_Iterable[bytes]] = ...) -> None: ...

class RecordAck(_message.Message):
    __slots__ = ("source_seq", "outcome", "reason_code", "requirement", "field", "message", "fingerprint", "log_index", "decided_at", "logged", "warnings")
    SOURCE_SEQ_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    REQUIREMENT_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    LOG_INDEX_FIELD_NUMBER: _ClassVar[int]
    DECIDED_AT_FIELD_NUMBER: _ClassVar[int]
    LOGGED_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    source_seq: int
    outcome: Outcome
    reason_code: str
    requirement: str
    field: str
    message: str
    fingerprint: bytes
    log_index: int
    decided_at: str
    logged: bool
    warnings: _containers.RepeatedCompositeFieldContainer[RecordWarning]
    def __init__(self, source_seq: _Optional[int] = ..., outcome: _Optional[_Union[Outcome, str]] = ..., reason_code: _Optional[str] = ..., requirement: _Optional[str] = ..., field: _Optional[str] = ..., message: _Optional[str] = ..., fingerprint: _Optional[bytes] = ..., log_index: _Optional[int] = ..., decided_at: _Optional[str] = ..., logged: _Optional[bool] = ..., warnings: _Optional[_Iterable[_Union[RecordWarning, _Mapping]]] = ...) -> None: ...

class RecordWarning(_message.Message):
    __slots__ = ("reason_code", "requirement", "field", "message")
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    REQUIREMENT_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    reason_code: str
    requirement: str
    field: str
    message: str
    def __init__(self, reason_code: _Optional[str] = ..., requirement: _Optional[str] = ..., field: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class PushResponse(_message.Message):
    __slots__ = ("batch_id", "acks", "committed_seq", "checkpoint")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    ACKS_FIELD_NUMBER: _ClassVar[int]
    COMMITTED_SEQ_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    batch_id: int
    acks: _containers.RepeatedCompositeFieldContainer[RecordAck]
    committed_seq: int
    checkpoint: str
    def __init__(self, batch_id: _Optional[int] = ..., acks: _Optional[_Iterable[_Union[RecordAck, _Mapping]]] = ..., committed_seq: _Optional[int] = ..., checkpoint: _Optional[str] = ...) -> None: ...

class HeartbeatRequest(_message.Message):
    __slots__ = ("backlog", "last_source_seq", "applied_list_seq", "node_time_unix_ms")
    BACKLOG_FIELD_NUMBER: _ClassVar[int]
    LAST_SOURCE_SEQ_FIELD_NUMBER: _ClassVar[int]
    APPLIED_LIST_SEQ_FIELD_NUMBER: _ClassVar[int]
    NODE_TIME_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    backlog: int
    last_source_seq: int
    applied_list_seq: int
    node_time_unix_ms: int
    def __init__(self, backlog: _Optional[int] = ..., last_source_seq: _Optional[int] = ..., applied_list_seq: _Optional[int] = ..., node_time_unix_ms: _Optional[int] = ...) -> None: ...

class HeartbeatResponse(_message.Message):
    __slots__ = ("committed_seq", "server_time_unix_ms")
    COMMITTED_SEQ_FIELD_NUMBER: _ClassVar[int]
    SERVER_TIME_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    committed_seq: int
    server_time_unix_ms: int
    def __init__(self, committed_seq: _Optional[int] = ..., server_time_unix_ms: _Optional[int] = ...) -> None: ...
