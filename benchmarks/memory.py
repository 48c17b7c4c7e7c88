"""Memory of this process: peak and current RSS, and the share of the in-process graph JVM.

The embedded graph (ArcadeDB) runs in a JVM inside the Python process (JPype), so the operating system
sees one process and one RSS.  The JVM's part is read from the JVM itself: with
``-XX:NativeMemoryTracking=summary`` (the orchestrator sets ``JAVA_TOOL_OPTIONS`` for the service
process) its Native Memory Tracking summary gives the memory the JVM has committed (heap, metaspace,
code cache, threads, GC, its own mallocs) and the Java heap's peak; without it, the heap and non-heap
figures of ``MemoryMXBean`` (a lower bound).  Committed is not resident, so "Python side = RSS - JVM" is
an estimate; both are reported as measured.
"""

from __future__ import annotations

import re
import resource
from typing import Any

NMT_OPTION = "-XX:NativeMemoryTracking=summary"
_KB = r"reserved=(\d+)KB, committed=(\d+)KB"


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mib() -> float:
    """Current resident set size of this process."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            pages = int(fh.read().split()[1])
        return pages * resource.getpagesize() / 2**20
    except OSError:
        return peak_rss_mib()


def _nmt_summary() -> str | None:
    import jpype

    factory = jpype.JClass("java.lang.management.ManagementFactory")
    name = jpype.JClass("javax.management.ObjectName")("com.sun.management:type=DiagnosticCommand")
    string_array = jpype.JArray(jpype.JClass("java.lang.String"))
    try:
        out = factory.getPlatformMBeanServer().invoke(
            name, "vmNativeMemory", jpype.JArray(jpype.JObject)([string_array(["summary"])]),
            string_array(["[Ljava.lang.String;"]))
    except Exception:  # noqa: BLE001 - the JVM has no diagnostic command bean or NMT is off
        return None
    text = str(out)
    return text if "Total:" in text else None


def jvm_memory() -> dict[str, Any] | None:
    """The in-process JVM's memory in MiB, or None when no JVM runs in this process."""
    try:
        import jpype
    except ImportError:
        return None
    if not jpype.isJVMStarted():
        return None
    summary = _nmt_summary()
    if summary is not None:
        total = re.search(r"Total: " + _KB, summary)
        heap = re.search(r"Java Heap \(" + _KB + r"\)\s*\(mmap: [^)]*peak=(\d+)KB", summary)
        if total:
            return {"method": "NMT", "committed_mib": int(total.group(2)) / 1024,
                    "heap_committed_mib": int(heap.group(2)) / 1024 if heap else None,
                    "heap_peak_mib": int(heap.group(3)) / 1024 if heap else None}
    bean = jpype.JClass("java.lang.management.ManagementFactory").getMemoryMXBean()
    heap_usage, other = bean.getHeapMemoryUsage(), bean.getNonHeapMemoryUsage()
    return {"method": "MemoryMXBean", "committed_mib": (heap_usage.getCommitted() + other.getCommitted()) / 2**20,
            "heap_committed_mib": heap_usage.getCommitted() / 2**20, "heap_peak_mib": None}


def snapshot() -> dict[str, Any]:
    """Peak and current RSS of this process and, if a JVM runs in it, the JVM's share."""
    return {"peak_rss_mib": peak_rss_mib(), "rss_mib": rss_mib(), "jvm": jvm_memory()}
