"""Which files a folder gives (ids, --glob, --exclude) and the parse workers: a hang or a crash costs one file."""

from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path

from indexers.files.parsed import ParsedFile, ParseOptions
from indexers.files.reader import FILE_ORIGIN_PREFIX, FileSelection, plan_paths
from indexers.files.workers import ParseFailure, ParsePool
from indexers.sources.base import Rejected


def _no_source(_: Path) -> bool:
    return False


def _tree(root: Path) -> Path:
    folder = root / "hospital-docs"
    (folder / "protocols" / "old").mkdir(parents=True)
    (folder / ".git").mkdir()
    for name in ("guideline.pdf", "protocols/heparin.docx", "protocols/old/heparin-2019.docx", "intranet.html",
                 "notes.md", "readme.txt", "table.xlsx", ".git/config.txt", ".hidden.pdf", "extra.jsonl"):
        (folder / name).write_bytes(b"x")
    return folder


def test_a_folder_gives_stable_ids_and_reports_what_it_cannot_read(tmp_path: Path) -> None:
    folder = _tree(tmp_path)
    plan = plan_paths([folder], FileSelection(), _no_source)
    assert sorted(job.doc_id for job in plan.jobs) == [
        "hospital-docs/guideline.pdf", "hospital-docs/intranet.html", "hospital-docs/notes.md",
        "hospital-docs/protocols/heparin.docx", "hospital-docs/protocols/old/heparin-2019.docx",
        "hospital-docs/readme.txt"]
    assert [str(r) for r in plan.rejects] == [
        f"{folder / 'table.xlsx'}:0: unsupported file type .xlsx: expected .pdf, .docx, .html, .htm, .md, "
        ".markdown, .txt, .jsonl or .jsonl.gz"]
    assert plan.sources == [folder]  # its .jsonl file is read by the JSONL reader
    job = next(j for j in plan.jobs if j.name == "protocols/heparin.docx")
    assert job.origin == FILE_ORIGIN_PREFIX + str((folder / "protocols/heparin.docx").resolve())
    # the same file named directly keeps the id it has when its folder is indexed
    single = plan_paths([folder / "guideline.pdf"], FileSelection(), _no_source)
    assert [j.doc_id for j in single.jobs] == ["hospital-docs/guideline.pdf"]


def test_glob_exclude_and_prefix(tmp_path: Path) -> None:
    folder = _tree(tmp_path)
    plan = plan_paths([folder], FileSelection(glob=("*.docx", "*.pdf"), exclude=("protocols/old/*",),
                                              id_prefix="hosp:"), _no_source)
    assert sorted(j.doc_id for j in plan.jobs) == ["hosp:guideline.pdf", "hosp:protocols/heparin.docx"]
    assert plan.rejects == [] and plan.sources == []
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "holds no file to index" in str(plan_paths([empty], FileSelection(), _no_source).rejects[0])
    assert "no such file" in str(plan_paths([tmp_path / "nope"], FileSelection(), _no_source).rejects[0])


def _big_text(path: Path, megabytes: int) -> Path:
    line = "Warfarin is adjusted to an INR of 2.0 to 3.0 in most patients with atrial fibrillation.\n\n"
    path.write_text(line * (megabytes * 1024 * 1024 // len(line)), encoding="utf-8")
    return path


def test_a_file_past_its_time_limit_is_stopped_and_the_rest_parsed(tmp_path: Path) -> None:
    slow = _big_text(tmp_path / "slow.txt", 40)
    quick = tmp_path / "quick.txt"
    quick.write_text("Heparin infusion starts at 18 units/kg/h.\n", encoding="utf-8")
    with ParsePool(1, timeout_s=5.0) as warm:  # the first spawn pays for the interpreter, not the limit below
        assert isinstance(dict(warm.parse_files([quick], ParseOptions()))[quick], ParsedFile)
    with ParsePool(1, timeout_s=0.5) as pool:
        started = time.monotonic()
        results = dict(pool.parse_files([slow, quick], ParseOptions()))
        elapsed = time.monotonic() - started
    assert results[slow] == ParseFailure("parser timed out after 0.5 s")
    parsed = results[quick]
    assert isinstance(parsed, ParsedFile) and parsed.blocks[0].text == "Heparin infusion starts at 18 units/kg/h."
    assert elapsed < 30  # the hung worker was killed, not waited for


def test_a_worker_that_dies_costs_only_its_file(tmp_path: Path) -> None:
    doomed = _big_text(tmp_path / "doomed.txt", 40)
    quick = tmp_path / "quick.txt"
    quick.write_text("Heparin infusion starts at 18 units/kg/h.\n", encoding="utf-8")

    def kill_the_worker() -> None:  # a segfault in a C parser looks like this to the pool: the process is gone
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            workers = [p for p in multiprocessing.active_children() if p.name == "medevidence-parser"]
            if workers:
                time.sleep(0.3)  # it has begun the big file
                workers[0].kill()
                return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_the_worker)
    with ParsePool(1, timeout_s=120.0) as pool:
        killer.start()
        results = dict(pool.parse_files([doomed, quick], ParseOptions()))
    killer.join()
    failure = results[doomed]
    assert isinstance(failure, ParseFailure) and failure.reason.startswith("parser crashed (exit code -9)")
    assert isinstance(results[quick], ParsedFile)


def test_empty_and_oversize_files_are_refused_before_a_worker_is_asked(tmp_path: Path) -> None:
    from app.stores.files import FileStore
    from indexers.files.reader import FileCounts, FileReading, read_files

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "empty.pdf").write_bytes(b"")
    (folder / "big.txt").write_text("Heparin infusion starts at 18 units/kg/h.\n" * 100, encoding="utf-8")
    (folder / "small.txt").write_text("Heparin infusion starts at 18 units/kg/h.\n", encoding="utf-8")
    jobs = plan_paths([folder], FileSelection(), _no_source).jobs
    counts = FileCounts()
    results = {job.name: item for job, item in read_files(jobs, FileReading(max_bytes=1000, workers=1),
                                                           FileStore(tmp_path / "files"), counts)}
    assert str(results["empty.pdf"]).endswith(":0: empty file")
    assert str(results["big.txt"]).endswith("file is larger than the limit (4200 bytes > 1000 bytes)")
    small = results["small.txt"]
    assert not isinstance(small, Rejected) and small.id == "docs/small.txt" and counts.files == 1
    assert (tmp_path / "files" / small.original[:2] / small.original[2:]).is_file()  # type: ignore[index]
