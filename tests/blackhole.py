"""Peers that stop answering, on real TCP sockets (port 0): a listener that accepts and never
answers, and a proxy in front of a real server that can be frozen mid-stream (it keeps every
connection open but stops moving bytes, as a dead link or a hung host does)."""

from __future__ import annotations

import socket
import threading


class BlackHole:
    """Accepts connections and never reads or writes."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._sock.getsockname()[1]}"
        self.accepted = threading.Event()
        self._held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self._held.append(conn)
            self.accepted.set()

    def close(self) -> None:
        self._sock.close()
        for c in self._held:
            c.close()


class FreezableProxy:
    """Forwards TCP connections to ``target`` until :meth:`freeze`; from then on it holds the
    connections open and moves no byte in either direction."""

    def __init__(self, target: str) -> None:
        host, port = target.rsplit(":", 1)
        self._target = (host, int(port))
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._sock.getsockname()[1]}"
        self.flowing = threading.Event()
        self.flowing.set()
        self._closed = threading.Event()
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def freeze(self) -> None:
        self.flowing.clear()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            upstream = socket.create_connection(self._target)
            self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                while not self.flowing.is_set():  # frozen: hold the bytes, never deliver them
                    if self._closed.wait(1.0):
                        return
                dst.sendall(data)
        except OSError:
            pass

    def close(self) -> None:
        self._closed.set()
        self._sock.close()
        for c in self._conns:
            c.close()
