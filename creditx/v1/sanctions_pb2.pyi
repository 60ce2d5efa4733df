from creditx.v1 import envelope_pb2 as _envelope_pb2
from creditx.v1 import lists_pb2 as _lists_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetMeasuresRequest(_message.Message):
    __slots__ = ("have_version",)
    HAVE_VERSION_FIELD_NUMBER: _ClassVar[int]
    have_version: str
    def __init__(self, have_version: _Optional[str] = ...) -> None: ...

class MeasuresDocument(_message.Message):
    __slots__ = ("document", "version")
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    document: _envelope_pb2.Envelope
    version: str
    def __init__(self, document: _Optional[_Union[_envelope_pb2.Envelope, _Mapping]] = ..., version: _Optional[str] = ...) -> None: ...

class CheckCounter(_message.Message):
    __slots__ = ("department", "list_type", "checks", "hits")
    DEPARTMENT_FIELD_NUMBER: _ClassVar[int]
    LIST_TYPE_FIELD_NUMBER: _ClassVar[int]
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    HITS_FIELD_NUMBER: _ClassVar[int]
    department: str
    list_type: str
    checks: int
    hits: int
    def __init__(self, department: _Optional[str] = ..., list_type: _Optional[str] = ..., checks: _Optional[int] = ..., hits: _Optional[int] = ...) -> None: ...

class ReportActionsRequest(_message.Message):
    __slots__ = ("reports", "counters")
    REPORTS_FIELD_NUMBER: _ClassVar[int]
    COUNTERS_FIELD_NUMBER: _ClassVar[int]
    reports: _containers.RepeatedCompositeFieldContainer[_lists_pb2.ActionReport]
    counters: _containers.RepeatedCompositeFieldContainer[CheckCounter]
    def __init__(self, reports: _Optional[_Iterable[_Union[_lists_pb2.ActionReport, _Mapping]]] = ..., counters: _Optional[_Iterable[_Union[CheckCounter, _Mapping]]] = ...) -> None: ...

class ReportActionsResponse(_message.Message):
    __slots__ = ("stored", "duplicates", "rejected")
    STORED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    stored: _containers.RepeatedScalarFieldContainer[str]
    duplicates: _containers.RepeatedScalarFieldContainer[str]
    rejected: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, stored: _Optional[_Iterable[str]] = ..., duplicates: _Optional[_Iterable[str]] = ..., rejected: _Optional[_Iterable[str]] = ...) -> None: ...
