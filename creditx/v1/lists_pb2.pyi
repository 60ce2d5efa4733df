from creditx.v1 import envelope_pb2 as _envelope_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ChangeKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHANGE_KIND_UNSPECIFIED: _ClassVar[ChangeKind]
    CHANGE_KIND_ADD: _ClassVar[ChangeKind]
    CHANGE_KIND_CORRECT: _ClassVar[ChangeKind]
    CHANGE_KIND_REMOVE: _ClassVar[ChangeKind]

class RemovalReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REMOVAL_REASON_UNSPECIFIED: _ClassVar[RemovalReason]
    REMOVAL_REASON_EXPIRED: _ClassVar[RemovalReason]
    REMOVAL_REASON_REPAIRED: _ClassVar[RemovalReason]
    REMOVAL_REASON_REVOKED: _ClassVar[RemovalReason]
    REMOVAL_REASON_DEREGISTERED: _ClassVar[RemovalReason]

class ListEntryState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LIST_ENTRY_STATE_UNSPECIFIED: _ClassVar[ListEntryState]
    LIST_ENTRY_STATE_LISTED: _ClassVar[ListEntryState]
    LIST_ENTRY_STATE_REMOVED: _ClassVar[ListEntryState]
CHANGE_KIND_UNSPECIFIED: ChangeKind
CHANGE_KIND_ADD: ChangeKind
CHANGE_KIND_CORRECT: ChangeKind
CHANGE_KIND_REMOVE: ChangeKind
REMOVAL_REASON_UNSPECIFIED: RemovalReason
REMOVAL_REASON_EXPIRED: RemovalReason
REMOVAL_REASON_REPAIRED: RemovalReason
REMOVAL_REASON_REVOKED: RemovalReason
REMOVAL_REASON_DEREGISTERED: RemovalReason
LIST_ENTRY_STATE_UNSPECIFIED: ListEntryState
LIST_ENTRY_STATE_LISTED: ListEntryState
LIST_ENTRY_STATE_REMOVED: ListEntryState

class ListEntry(_message.Message):
    __slots__ = ("entry_id", "list_type", "colour", "subject_name", "subject_category", "subject_uscc", "subject_id_masked", "listed_on", "period_start", "period_end", "listing_reason", "basis", "basis_document", "basis_number", "authority", "authority_uscc", "measures", "state", "removed_on", "removal_reason", "removal_authority", "version", "origin_fingerprint", "origin_region", "listing")
    ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    LIST_TYPE_FIELD_NUMBER: _ClassVar[int]
    COLOUR_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_NAME_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_CATEGORY_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_USCC_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_ID_MASKED_FIELD_NUMBER: _ClassVar[int]
    LISTED_ON_FIELD_NUMBER: _ClassVar[int]
    PERIOD_START_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    LISTING_REASON_FIELD_NUMBER: _ClassVar[int]
    BASIS_FIELD_NUMBER: _ClassVar[int]
    BASIS_DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    BASIS_NUMBER_FIELD_NUMBER: _ClassVar[int]
    AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    AUTHORITY_USCC_FIELD_NUMBER: _ClassVar[int]
    MEASURES_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REMOVED_ON_FIELD_NUMBER: _ClassVar[int]
    REMOVAL_REASON_FIELD_NUMBER: _ClassVar[int]
    REMOVAL_AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_REGION_FIELD_NUMBER: _ClassVar[int]
    LISTING_FIELD_NUMBER: _ClassVar[int]
    entry_id: str
    list_type: str
    colour: str
    subject_name: str
    subject_category: str
    subject_uscc: str
    subject_id_masked: str
    listed_on: str
    period_start: str
    period_end: str
    listing_reason: str
    basis: str
    basis_document: str
    basis_number: str
    authority: str
    authority_uscc: str
    measures: str
    state: ListEntryState
    removed_on: str
    removal_reason: RemovalReason
    removal_authority: str
    version: int
    origin_fingerprint: bytes
    origin_region: str
    listing: int
    def __init__(self, entry_id: _Optional[str] = ..., list_type: _Optional[str] = ..., colour: _Optional[str] = ..., subject_name: _Optional[str] = ..., subject_category: _Optional[str] = ..., subject_uscc: _Optional[str] = ..., subject_id_masked: _Optional[str] = ..., listed_on: _Optional[str] = ..., period_start: _Optional[str] = ..., period_end: _Optional[str] = ..., listing_reason: _Optional[str] = ..., basis: _Optional[str] = ..., basis_document: _Optional[str] = ..., basis_number: _Optional[str] = ..., authority: _Optional[str] = ..., authority_uscc: _Optional[str] = ..., measures: _Optional[str] = ..., state: _Optional[_Union[ListEntryState, str]] = ..., removed_on: _Optional[str] = ..., removal_reason: _Optional[_Union[RemovalReason, str]] = ..., removal_authority: _Optional[str] = ..., version: _Optional[int] = ..., origin_fingerprint: _Optional[bytes] = ..., origin_region: _Optional[str] = ..., listing: _Optional[int] = ...) -> None: ...

class ListChange(_message.Message):
    __slots__ = ("list_seq", "kind", "reason", "list_type", "entry", "origin", "at_unix_ms", "subject_index", "state_difference")
    LIST_SEQ_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    LIST_TYPE_FIELD_NUMBER: _ClassVar[int]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_INDEX_FIELD_NUMBER: _ClassVar[int]
    STATE_DIFFERENCE_FIELD_NUMBER: _ClassVar[int]
    list_seq: int
    kind: ChangeKind
    reason: RemovalReason
    list_type: str
    entry: ListEntry
    origin: _envelope_pb2.Envelope
    at_unix_ms: int
    subject_index: _containers.RepeatedScalarFieldContainer[str]
    state_difference: bool
    def __init__(self, list_seq: _Optional[int] = ..., kind: _Optional[_Union[ChangeKind, str]] = ..., reason: _Optional[_Union[RemovalReason, str]] = ..., list_type: _Optional[str] = ..., entry: _Optional[_Union[ListEntry, _Mapping]] = ..., origin: _Optional[_Union[_envelope_pb2.Envelope, _Mapping]] = ..., at_unix_ms: _Optional[int] = ..., subject_index: _Optional[_Iterable[str]] = ..., state_difference: _Optional[bool] = ...) -> None: ...

class SubscribeRequest(_message.Message):
    __slots__ = ("from_list_seq", "list_types", "max_batch_changes", "subject_index_key", "compressed_changes")
    FROM_LIST_SEQ_FIELD_NUMBER: _ClassVar[int]
    LIST_TYPES_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_CHANGES_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_INDEX_KEY_FIELD_NUMBER: _ClassVar[int]
    COMPRESSED_CHANGES_FIELD_NUMBER: _ClassVar[int]
    from_list_seq: int
    list_types: _containers.RepeatedScalarFieldContainer[str]
    max_batch_changes: int
    subject_index_key: bytes
    compressed_changes: bool
    def __init__(self, from_list_seq: _Optional[int] = ..., list_types: _Optional[_Iterable[str]] = ..., max_batch_changes: _Optional[int] = ..., subject_index_key: _Optional[bytes] = ..., compressed_changes: _Optional[bool] = ...) -> None: ...

class SubjectIndexKeys(_message.Message):
    __slots__ = ("list_seq", "subject_index")
    LIST_SEQ_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_INDEX_FIELD_NUMBER: _ClassVar[int]
    list_seq: int
    subject_index: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, list_seq: _Optional[int] = ..., subject_index: _Optional[_Iterable[str]] = ...) -> None: ...

class ListChangeBatch(_message.Message):
    __slots__ = ("changes", "through_list_seq", "head_list_seq", "live", "changes_zlib", "changes_size", "subject_indexes")
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    THROUGH_LIST_SEQ_FIELD_NUMBER: _ClassVar[int]
    HEAD_LIST_SEQ_FIELD_NUMBER: _ClassVar[int]
    LIVE_FIELD_NUMBER: _ClassVar[int]
    CHANGES_ZLIB_FIELD_NUMBER: _ClassVar[int]
    CHANGES_SIZE_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_INDEXES_FIELD_NUMBER: _ClassVar[int]
    changes: _containers.RepeatedCompositeFieldContainer[ListChange]
    through_list_seq: int
    head_list_seq: int
    live: bool
    changes_zlib: bytes
    changes_size: int
    subject_indexes: _containers.RepeatedCompositeFieldContainer[SubjectIndexKeys]
    def __init__(self, changes: _Optional[_Iterable[_Union[ListChange, _Mapping]]] = ..., through_list_seq: _Optional[int] = ..., head_list_seq: _Optional[int] = ..., live: _Optional[bool] = ..., changes_zlib: _Optional[bytes] = ..., changes_size: _Optional[int] = ..., subject_indexes: _Optional[_Iterable[_Union[SubjectIndexKeys, _Mapping]]] = ...) -> None: ...

class SnapshotRequest(_message.Message):
    __slots__ = ("at_list_seq", "from_chunk", "max_chunk_bytes", "max_chunk_entries", "subject_index_key", "canonical_entries", "without_origins")
    AT_LIST_SEQ_FIELD_NUMBER: _ClassVar[int]
    FROM_CHUNK_FIELD_NUMBER: _ClassVar[int]
    MAX_CHUNK_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_CHUNK_ENTRIES_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_INDEX_KEY_FIELD_NUMBER: _ClassVar[int]
    CANONICAL_ENTRIES_FIELD_NUMBER: _ClassVar[int]
    WITHOUT_ORIGINS_FIELD_NUMBER: _ClassVar[int]
    at_list_seq: int
    from_chunk: int
    max_chunk_bytes: int
    max_chunk_entries: int
    subject_index_key: bytes
    canonical_entries: bool
    without_origins: bool
    def __init__(self, at_list_seq: _Optional[int] = ..., from_chunk: _Optional[int] = ..., max_chunk_bytes: _Optional[int] = ..., max_chunk_entries: _Optional[int] = ..., subject_index_key: _Optional[bytes] = ..., canonical_entries: _Optional[bool] = ..., without_origins: _Optional[bool] = ...) -> None: ...

class SnapshotChunk(_message.Message):
    __slots__ = ("at_list_seq", "index", "total", "entries", "frontier", "entries_total", "origins", "subject_indexes", "entries_zlib")
    AT_LIST_SEQ_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    FRONTIER_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_TOTAL_FIELD_NUMBER: _ClassVar[int]
    ORIGINS_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_INDEXES_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_ZLIB_FIELD_NUMBER: _ClassVar[int]
    at_list_seq: int
    index: int
    total: int
    entries: _containers.RepeatedCompositeFieldContainer[ListEntry]
    frontier: bytes
    entries_total: int
    origins: _containers.RepeatedCompositeFieldContainer[_envelope_pb2.Envelope]
    subject_indexes: _containers.RepeatedScalarFieldContainer[str]
    entries_zlib: bytes
    def __init__(self, at_list_seq: _Optional[int] = ..., index: _Optional[int] = ..., total: _Optional[int] = ..., entries: _Optional[_Iterable[_Union[ListEntry, _Mapping]]] = ..., frontier: _Optional[bytes] = ..., entries_total: _Optional[int] = ..., origins: _Optional[_Iterable[_Union[_envelope_pb2.Envelope, _Mapping]]] = ..., subject_indexes: _Optional[_Iterable[str]] = ..., entries_zlib: _Optional[bytes] = ...) -> None: ...

class EvidenceRequest(_message.Message):
    __slots__ = ("list_seq",)
    LIST_SEQ_FIELD_NUMBER: _ClassVar[int]
    list_seq: int
    def __init__(self, list_seq: _Optional[int] = ...) -> None: ...

class EvidenceResponse(_message.Message):
    __slots__ = ("list_seq", "entry_id", "origin")
    LIST_SEQ_FIELD_NUMBER: _ClassVar[int]
    ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    list_seq: int
    entry_id: str
    origin: _envelope_pb2.Envelope
    def __init__(self, list_seq: _Optional[int] = ..., entry_id: _Optional[str] = ..., origin: _Optional[_Union[_envelope_pb2.Envelope, _Mapping]] = ...) -> None: ...

class ListCheckpointRequest(_message.Message):
    __slots__ = ("from_size",)
    FROM_SIZE_FIELD_NUMBER: _ClassVar[int]
    from_size: int
    def __init__(self, from_size: _Optional[int] = ...) -> None: ...

class ListCheckpointResponse(_message.Message):
    __slots__ = ("checkpoint", "consistency_proof")
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    CONSISTENCY_PROOF_FIELD_NUMBER: _ClassVar[int]
    checkpoint: str
    consistency_proof: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, checkpoint: _Optional[str] = ..., consistency_proof: _Optional[_Iterable[bytes]] = ...) -> None: ...

class ReportAppliedRequest(_message.Message):
    __slots__ = ("applied_list_seq", "checkpoint_verified")
    APPLIED_LIST_SEQ_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_VERIFIED_FIELD_NUMBER: _ClassVar[int]
    applied_list_seq: int
    checkpoint_verified: bool
    def __init__(self, applied_list_seq: _Optional[int] = ..., checkpoint_verified: _Optional[bool] = ...) -> None: ...

class ReportAppliedResponse(_message.Message):
    __slots__ = ("head_list_seq",)
    HEAD_LIST_SEQ_FIELD_NUMBER: _ClassVar[int]
    head_list_seq: int
    def __init__(self, head_list_seq: _Optional[int] = ...) -> None: ...

class Subject(_message.Message):
    __slots__ = ("uscc", "registration_number", "person")
    USCC_FIELD_NUMBER: _ClassVar[int]
    REGISTRATION_NUMBER_FIELD_NUMBER: _ClassVar[int]
    PERSON_FIELD_NUMBER: _ClassVar[int]
    uscc: str
    registration_number: str
    person: PersonId
    def __init__(self, uscc: _Optional[str] = ..., registration_number: _Optional[str] = ..., person: _Optional[_Union[PersonId, _Mapping]] = ...) -> None: ...

class PersonId(_message.Message):
    __slots__ = ("id_type", "id_number")
    ID_TYPE_FIELD_NUMBER: _ClassVar[int]
    ID_NUMBER_FIELD_NUMBER: _ClassVar[int]
    id_type: str
    id_number: str
    def __init__(self, id_type: _Optional[str] = ..., id_number: _Optional[str] = ...) -> None: ...

class CheckRequest(_message.Message):
    __slots__ = ("subject", "list_types", "matter", "department")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    LIST_TYPES_FIELD_NUMBER: _ClassVar[int]
    MATTER_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_FIELD_NUMBER: _ClassVar[int]
    subject: Subject
    list_types: _containers.RepeatedScalarFieldContainer[str]
    matter: str
    department: str
    def __init__(self, subject: _Optional[_Union[Subject, _Mapping]] = ..., list_types: _Optional[_Iterable[str]] = ..., matter: _Optional[str] = ..., department: _Optional[str] = ...) -> None: ...

class ApplicableMeasure(_message.Message):
    __slots__ = ("measure_id", "kind", "mandatory", "text", "basis", "list_types")
    MEASURE_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    MANDATORY_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    BASIS_FIELD_NUMBER: _ClassVar[int]
    LIST_TYPES_FIELD_NUMBER: _ClassVar[int]
    measure_id: str
    kind: str
    mandatory: bool
    text: str
    basis: str
    list_types: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, measure_id: _Optional[str] = ..., kind: _Optional[str] = ..., mandatory: _Optional[bool] = ..., text: _Optional[str] = ..., basis: _Optional[str] = ..., list_types: _Optional[_Iterable[str]] = ...) -> None: ...

class OwnRecord(_message.Message):
    __slots__ = ("type", "source_id", "version", "document_number", "title", "decided_on", "authority", "content", "objection", "outcome")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_NUMBER_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DECIDED_ON_FIELD_NUMBER: _ClassVar[int]
    AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    OBJECTION_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    type: str
    source_id: str
    version: int
    document_number: str
    title: str
    decided_on: str
    authority: str
    content: str
    objection: str
    outcome: str
    def __init__(self, type: _Optional[str] = ..., source_id: _Optional[str] = ..., version: _Optional[int] = ..., document_number: _Optional[str] = ..., title: _Optional[str] = ..., decided_on: _Optional[str] = ..., authority: _Optional[str] = ..., content: _Optional[str] = ..., objection: _Optional[str] = ..., outcome: _Optional[str] = ...) -> None: ...

class CheckResponse(_message.Message):
    __slots__ = ("memberships", "history", "applied_list_seq", "last_update_unix_ms", "stale", "measures", "incentives", "records", "measures_version", "check_id", "subject_shown")
    MEMBERSHIPS_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    APPLIED_LIST_SEQ_FIELD_NUMBER: _ClassVar[int]
    LAST_UPDATE_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    STALE_FIELD_NUMBER: _ClassVar[int]
    MEASURES_FIELD_NUMBER: _ClassVar[int]
    INCENTIVES_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    MEASURES_VERSION_FIELD_NUMBER: _ClassVar[int]
    CHECK_ID_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_SHOWN_FIELD_NUMBER: _ClassVar[int]
    memberships: _containers.RepeatedCompositeFieldContainer[ListEntry]
    history: _containers.RepeatedCompositeFieldContainer[ListEntry]
    applied_list_seq: int
    last_update_unix_ms: int
    stale: bool
    measures: _containers.RepeatedCompositeFieldContainer[ApplicableMeasure]
    incentives: _containers.RepeatedCompositeFieldContainer[ApplicableMeasure]
    records: _containers.RepeatedCompositeFieldContainer[OwnRecord]
    measures_version: str
    check_id: str
    subject_shown: str
    def __init__(self, memberships: _Optional[_Iterable[_Union[ListEntry, _Mapping]]] = ..., history: _Optional[_Iterable[_Union[ListEntry, _Mapping]]] = ..., applied_list_seq: _Optional[int] = ..., last_update_unix_ms: _Optional[int] = ..., stale: _Optional[bool] = ..., measures: _Optional[_Iterable[_Union[ApplicableMeasure, _Mapping]]] = ..., incentives: _Optional[_Iterable[_Union[ApplicableMeasure, _Mapping]]] = ..., records: _Optional[_Iterable[_Union[OwnRecord, _Mapping]]] = ..., measures_version: _Optional[str] = ..., check_id: _Optional[str] = ..., subject_shown: _Optional[str] = ...) -> None: ...

class CheckManyRequest(_message.Message):
    __slots__ = ("checks",)
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    checks: _containers.RepeatedCompositeFieldContainer[CheckRequest]
    def __init__(self, checks: _Optional[_Iterable[_Union[CheckRequest, _Mapping]]] = ...) -> None: ...

class CheckManyResponse(_message.Message):
    __slots__ = ("answers",)
    ANSWERS_FIELD_NUMBER: _ClassVar[int]
    answers: _containers.RepeatedCompositeFieldContainer[CheckResponse]
    def __init__(self, answers: _Optional[_Iterable[_Union[CheckResponse, _Mapping]]] = ...) -> None: ...

class ActionReport(_message.Message):
    __slots__ = ("report", "certificate")
    REPORT_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    report: _envelope_pb2.Envelope
    certificate: bytes
    def __init__(self, report: _Optional[_Union[_envelope_pb2.Envelope, _Mapping]] = ..., certificate: _Optional[bytes] = ...) -> None: ...

class ActionReceipt(_message.Message):
    __slots__ = ("report_id", "duplicate")
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    report_id: str
    duplicate: bool
    def __init__(self, report_id: _Optional[str] = ..., duplicate: _Optional[bool] = ...) -> None: ...

class FeedRequest(_message.Message):
    __slots__ = ("department", "from_cursor", "list_types")
    DEPARTMENT_FIELD_NUMBER: _ClassVar[int]
    FROM_CURSOR_FIELD_NUMBER: _ClassVar[int]
    LIST_TYPES_FIELD_NUMBER: _ClassVar[int]
    department: str
    from_cursor: int
    list_types: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, department: _Optional[str] = ..., from_cursor: _Optional[int] = ..., list_types: _Optional[_Iterable[str]] = ...) -> None: ...

class FeedBatch(_message.Message):
    __slots__ = ("changes", "cursor", "skipped")
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    changes: _containers.RepeatedCompositeFieldContainer[ListChange]
    cursor: int
    skipped: _containers.RepeatedCompositeFieldContainer[SkippedRange]
    def __init__(self, changes: _Optional[_Iterable[_Union[ListChange, _Mapping]]] = ..., cursor: _Optional[int] = ..., skipped: _Optional[_Iterable[_Union[SkippedRange, _Mapping]]] = ...) -> None: ...

class SkippedRange(_message.Message):
    __slots__ = ("from_list_seq", "to_list_seq", "snapshot_list_seq", "differences")
    FROM_LIST_SEQ_FIELD_NUMBER: _ClassVar[int]
    TO_LIST_SEQ_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_LIST_SEQ_FIELD_NUMBER: _ClassVar[int]
    DIFFERENCES_FIELD_NUMBER: _ClassVar[int]
    from_list_seq: int
    to_list_seq: int
    snapshot_list_seq: int
    differences: int
    def __init__(self, from_list_seq: _Optional[int] = ..., to_list_seq: _Optional[int] = ..., snapshot_list_seq: _Optional[int] = ..., differences: _Optional[int] = ...) -> None: ...
