"""Server reflection that ``grpcurl list`` and ``grpcurl describe`` understand, and the
standard health service on a plain port that needs no client certificate.

grpcio-reflection ships only ``grpc.reflection.v1alpha``; grpcurl asks for
``grpc.reflection.v1`` first. The two protocols are the same messages under another package
name, so the same servicer is registered under both names. ``describe`` of a method needs the
file that defines it in the descriptor pool the servicer searches: the generated modules'
file descriptors are added to that pool explicitly (and their dependencies first).
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent import futures
from typing import Any, cast

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import FileDescriptor
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2

V1_SERVICE = "grpc.reflection.v1.ServerReflection"
V1ALPHA_SERVICE = reflection.SERVICE_NAME
HEALTH_SERVICE = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name


def reflection_pool(files: Iterable[FileDescriptor]) -> descriptor_pool.DescriptorPool:
    """A pool holding ``files`` and everything they import, built from their serialized form."""
    pool = descriptor_pool.DescriptorPool()
    added: set[str] = set()

    def add(fd: FileDescriptor) -> None:
        if fd.name in added:
            return
        for dep in fd.dependencies:
            add(dep)
        proto = descriptor_pb2.FileDescriptorProto()
        fd.CopyToProto(proto)
        pool.Add(proto)
        added.add(fd.name)

    for f in files:
        add(f)
    # the stubs type DESCRIPTOR as the upb C class; it is a google.protobuf FileDescriptor
    add(cast(FileDescriptor, health_pb2.DESCRIPTOR))
    add(cast(FileDescriptor, reflection_pb2.DESCRIPTOR))
    return pool


class _Reflection(reflection.ReflectionServicer):
    """Also finds the file of a method symbol (``pkg.Service.Method``), which protobuf's
    descriptor pool does not index: ``grpcurl describe pkg.Service.Method`` asks for it."""

    def __init__(self, names: tuple[str, ...], pool: descriptor_pool.DescriptorPool) -> None:
        super().__init__(names, pool=pool)
        self._methods: dict[str, FileDescriptor] = {}
        for name in names:
            try:
                svc = pool.FindServiceByName(name)
            except KeyError:
                continue
            for m in svc.methods:
                self._methods[m.full_name] = svc.file

    def _file_containing_symbol(self, request: Any, fully_qualified_name: str) -> Any:
        if fully_qualified_name in self._methods:
            # a private helper the stubs do not declare
            from grpc_reflection.v1alpha._base import _file_descriptor_response  # type: ignore[attr-defined]

            return _file_descriptor_response(self._methods[fully_qualified_name], request)
        # a private method of BaseReflectionServicer the stubs do not declare
        return super()._file_containing_symbol(request, fully_qualified_name)  # type: ignore[misc]


def enable_reflection(server: grpc.Server, services: Iterable[str], files: Iterable[FileDescriptor]) -> None:
    """Register reflection v1 and v1alpha for ``services`` (plus health and reflection)."""
    names = tuple(dict.fromkeys([*services, HEALTH_SERVICE, V1_SERVICE, V1ALPHA_SERVICE]))
    servicer = _Reflection(names, reflection_pool(files))
    handler: Any = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
    )
    for name in (V1_SERVICE, V1ALPHA_SERVICE):
        generic = grpc.method_handlers_generic_handler(name, {"ServerReflectionInfo": handler})
        server.add_generic_rpc_handlers((generic,))


class PlainHealth:
    """The standard ``grpc.health.v1.Health`` service (and reflection of it) on its own
    plaintext port, for load balancers and ``grpc_health_probe`` without a client certificate.
    It says SERVING or NOT_SERVING and nothing else; listen on loopback or a trusted network."""

    def __init__(self, listen: str, servicer: health.HealthServicer) -> None:
        self.server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="health"), maximum_concurrent_rpcs=16
        )
        health_pb2_grpc.add_HealthServicer_to_server(servicer, self.server)
        enable_reflection(self.server, (), ())
        self.port = self.server.add_insecure_port(listen)
        if self.port == 0:
            raise OSError(f"cannot listen on {listen} for the health port")
        self.address = f"{listen.rsplit(':', 1)[0]}:{self.port}"

    def start(self) -> None:
        self.server.start()

    def stop(self, grace: float = 1.0) -> None:
        self.server.stop(grace).wait()
