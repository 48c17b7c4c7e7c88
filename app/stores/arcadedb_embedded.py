"""Embedded ArcadeDB (``arcadedb-embedded``: engine + bundled JRE) served over Bolt on loopback.

``open_embedded_graph_store(settings)`` takes an exclusive lock on ``data_dir/graph`` (a second
process fails at once with ``GraphStoreLocked``, before touching any file), starts the JVM in
this process, starts an ArcadeDB server rooted at ``data_dir/graph`` with only the Bolt plugin
added, on free ports of 127.0.0.1 (its HTTP listener cannot be turned off: it is bound to loopback
too), creates the database on first use and connects the official ``neo4j`` driver to
``bolt://127.0.0.1:<port>`` as ``root`` with ``settings.neo4j_password``.

Notes on ArcadeDB:

- the root password is fixed when the server root is first created: a later, different
  ``neo4j_password`` fails authentication (a clear ``GraphStoreError`` says so);
- the JVM starts once per process and cannot be restarted: ``close()`` stops the server and
  releases the lock, the JVM stays for the next open; its log settings (``arcadedb-log.properties``
  under the first store's folder, console at SEVERE) are fixed by that first start;
- every write goes through managed transactions (see ``app.stores.graph_cypher``);
- the JVM gets a 1 GiB heap and the C1 JIT only (short statements: half the cold load time);
  ArcadeDB's own log and any JVM crash log go to ``data_dir/graph/log``; the MCP plugin, which the
  engine discovers on its own, stays disabled (its ``config/mcp-config.json`` says so).
"""

from __future__ import annotations

import atexit
import fcntl
import gc
import logging
import os
import socket
import time
from pathlib import Path
from typing import Any

from app.config import Settings
from app.stores.graph import GraphStoreError, GraphStoreLocked
from app.stores.graph_cypher import CypherGraphStore

log = logging.getLogger(__name__)
BOLT_PLUGIN = "Bolt:com.arcadedb.bolt.BoltProtocolPlugin"
ROOT_USER = "root"
LOOPBACK = "127.0.0.1"
#: C1 JIT only: this workload is many small, short statements; it halves the cold load time.
JVM_ARGS = ("-XX:TieredStopAtLevel=1",)
_LOG_PROPERTIES = """handlers = java.util.logging.ConsoleHandler, java.util.logging.FileHandler
.level = INFO
io.undertow.level = WARNING
org.xnio.level = WARNING
org.jboss.level = WARNING
java.util.logging.ConsoleHandler.level = SEVERE
java.util.logging.FileHandler.level = INFO
java.util.logging.FileHandler.pattern = {pattern}
java.util.logging.FileHandler.formatter = com.arcadedb.log.LogFormatter
java.util.logging.FileHandler.limit = 10000000
java.util.logging.FileHandler.count = 3
"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def unhook_jpype_gc() -> int:
    """Take JPype's hook out of Python's garbage collector; the number of hooks removed.

    JPype links the two collectors: after every Python collection it reads the process's malloc total
    (``mallinfo``, which walks every arena) and calls ``System.gc()`` when the total grew.  Here the
    total grows with the vector engine's own allocations, so a gen-0 collection in the middle of a
    search cost 40-70 ms under the GIL (measured: ``/v1/search`` p95 171 ms at 300k chunks, 31 ms without
    the hook).  Nothing crosses to the JVM but the server's start and stop (queries go over Bolt), so
    no Python object waits on a Java collection; the JVM still collects its own heap as it fills.
    """
    import _jpype

    hook = getattr(_jpype, "_collect", None)
    before = len(gc.callbacks)
    gc.callbacks[:] = [cb for cb in gc.callbacks if cb is not hook]
    return before - len(gc.callbacks)

class EmbeddedArcadeDB:
    """One ArcadeDB server in this process, rooted at ``root``, reachable over Bolt on loopback."""

    def __init__(self, root: Path, password: str, database: str, heap: str = "1g") -> None:
        self.root = Path(root).resolve()
        self.password = password
        self.database = database
        self.heap = heap
        self.bolt_port = 0
        self.timings: dict[str, float] = {}
        self._server: Any = None
        self._lock_fd: int | None = None

    @property
    def bolt_uri(self) -> str:
        return f"bolt://{LOOPBACK}:{self.bolt_port}"

    def _lock(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / "graph.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            who = "this process (it is open already)" if holder == str(os.getpid()) else f"process {holder}"
            raise GraphStoreLocked(
                f"the embedded graph at {self.root} is in use by {who}; stop it, or set "
                "MEDEVIDENCE_NEO4J_URI to share a Neo4j server"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock_fd = fd

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def _start_jvm(self) -> None:
        import jpype
        import jpype.config
        from arcadedb_embedded.jvm import start_jvm

        if jpype.isJVMStarted():
            start_jvm()  # joins the running JVM (its settings were fixed by the first start)
            unhook_jpype_gc()
            return
        (self.root / "log").mkdir(parents=True, exist_ok=True)
        pattern = str(self.root / "log" / "arcadedb.log").replace("\\", "\\\\").replace("%", "%%")
        properties = self.root / "arcadedb-log.properties"
        properties.write_text(_LOG_PROPERTIES.format(pattern=pattern), encoding="utf-8")
        os.environ.setdefault("ARCADEDB_JVM_ERROR_FILE", str(self.root / "log" / "hs_err_pid%p.log"))
        start_jvm(heap_size=self.heap, jvm_args=[f"-Djava.util.logging.config.file={properties}", *JVM_ARGS])
        unhook_jpype_gc()
        # At exit JPype calls DestroyJavaVM, which waits for every non-daemon Java thread, and a Python thread
        # that started a server (a test's uvicorn thread, say) stays attached as one: the process hung at exit.
        # The server is stopped by the store's own exit hook, which runs before JPype's (registered later).
        jpype.config.destroy_jvm = False

    def start(self) -> str:
        """Lock the folder, start JVM + server + database; return the Bolt URI."""
        self._lock()
        try:
            began = time.perf_counter()
            self._start_jvm()
            self.timings["jvm_s"] = time.perf_counter() - began
            self._start_server()
            self.timings["server_s"] = time.perf_counter() - began - self.timings["jvm_s"]
        except BaseException:
            self.stop()
            raise
        return self.bolt_uri

    def _start_server(self) -> None:
        from arcadedb_embedded import ArcadeDBError, ArcadeDBServer

        for attempt in range(3):  # a free port can be taken between probing and binding
            self.bolt_port = _free_port()
            config = {
                "host": LOOPBACK,
                "http_port": _free_port(),
                "server_plugins": BOLT_PLUGIN,
                "bolt_port": self.bolt_port,
                "bolt_host": LOOPBACK,
                "server_name": f"medevidence-{os.getpid()}-{self.bolt_port}",
            }
            server = ArcadeDBServer(root_path=str(self.root), root_password=self.password, config=config)
            try:
                server.start()
            except ArcadeDBError as exc:
                if "locked by another process" in str(exc):
                    raise GraphStoreLocked(f"the embedded graph at {self.root} is locked: {exc}") from exc
                if attempt == 2 or "bind" not in str(exc).lower():
                    raise GraphStoreError(f"cannot start ArcadeDB at {self.root}: {exc}") from exc
                continue
            self._server = server
            break
        try:
            self._server.get_database(self.database)
        except ArcadeDBError:
            self._server.create_database(self.database)

    def stop(self) -> None:
        """Stop the server (closing its databases) and release the folder; idempotent."""
        server, self._server = self._server, None
        try:
            if server is not None:
                server.stop()
        finally:
            self._unlock()


def open_embedded_graph_store(settings: Settings, heap: str = "1g") -> CypherGraphStore:
    """Start ArcadeDB under ``settings.data_dir / "graph"`` and return a store connected over Bolt."""
    from neo4j import GraphDatabase
    from neo4j.exceptions import AuthError, ServiceUnavailable

    began = time.perf_counter()
    engine = EmbeddedArcadeDB(settings.data_dir / "graph", settings.neo4j_password, settings.neo4j_database,
                              heap)
    uri = engine.start()
    driver = GraphDatabase.driver(uri, auth=(ROOT_USER, settings.neo4j_password))
    try:
        driver.verify_connectivity()
    except (AuthError, ServiceUnavailable) as exc:
        driver.close()
        engine.stop()
        hint = " (it keeps the password it was created with)" if isinstance(exc, AuthError) else ""
        raise GraphStoreError(f"cannot connect to the embedded graph at {uri}{hint}: {exc}") from exc
    engine.timings["total_s"] = time.perf_counter() - began
    log.info("embedded ArcadeDB at %s on %s started in %.2fs (%s)", engine.root, uri,
             engine.timings["total_s"], ", ".join(f"{k}={v:.2f}" for k, v in engine.timings.items()))
    store = CypherGraphStore(driver, settings.neo4j_database, on_close=engine.stop,
                             description=f"embedded ArcadeDB {engine.root}", uri=uri)
    store.timings.update(engine.timings)
    atexit.register(store.close)  # before JPype's own hook: an open Bolt connection would block JVM exit
    return store
