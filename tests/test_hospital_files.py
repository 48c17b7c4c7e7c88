"""Issue 23's "done when", end to end on real files: ``medevidence index hospital-docs/`` with a guideline PDF, a
Chinese drug-instruction PDF, a Word protocol, an intranet HTML page and a scanned page (plus broken files);
``medevidence ask`` cites the guideline with its page; the API serves the original file to a permitted caller; the
clinician page's evidence card links to that page of the file.

The fixtures are built by the test setup from public-domain texts in ``knowledge/`` (testkit/pdf_fixtures.py,
testkit/office_fixtures.py).  The page a quote lies on is checked against pypdf's own per-page text of the file, not
against what the parser said.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pypdf import PdfWriter

from app.auth import KeyStore
from app.cli.wiring import open_indexer, serving_indexer
from app.config import Settings
from app.main import create_app
from app.runtime import Runtime
from indexers.files.ocr import available as ocr_available
from testkit.http_server import serving
from testkit.office_fixtures import guideline_html, protocol_docx
from testkit.pdf_fixtures import FixturePdf, chinese_instruction_pdf, guideline_pdf, normalise, scanned_pdf

from .conftest import KNOWLEDGE, ROOT

pytestmark = [pytest.mark.slow]

_MARKERS = re.compile(r"\(?\d{1,3}[).]")
GUIDELINE_QUESTION = "Which assay should laboratories use first to test serum or plasma specimens for HIV infection?"


@dataclass
class Hospital:
    folder: Path
    data_dir: Path
    guideline: FixturePdf
    chinese: FixturePdf
    index_run: subprocess.CompletedProcess[str]


def _cli(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MEDEVIDENCE_KNOWLEDGE_DIR": str(KNOWLEDGE)}
    return subprocess.run([sys.executable, "-m", "app.cli", *args, "--data-dir", str(data_dir)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600)


def _encrypted(source: Path, target: Path) -> Path:
    writer = PdfWriter(clone_from=source)
    writer.encrypt(user_password="s3cret", owner_password="s3cret-owner")
    with target.open("wb") as out:
        writer.write(out)
    return target


@pytest.fixture(scope="module")
def hospital(tmp_path_factory: pytest.TempPathFactory) -> Hospital:
    build = tmp_path_factory.mktemp("build")
    guideline, chinese = guideline_pdf(build), chinese_instruction_pdf(build)
    folder = tmp_path_factory.mktemp("hospital") / "hospital-docs"
    (folder / "protocols").mkdir(parents=True)
    shutil.copy(guideline.path, folder / "guideline.pdf")
    shutil.copy(chinese.path, folder / "warfarin_zh.pdf")
    shutil.copy(protocol_docx(build).path, folder / "protocols" / "hiv-testing.docx")
    shutil.copy(guideline_html(build).path, folder / "intranet.html")
    shutil.copy(scanned_pdf(chinese.path, build, page=1), folder / "scanned.pdf")
    (folder / "broken.pdf").write_bytes(guideline.path.read_bytes()[:3000])  # a PDF cut short
    (folder / "empty.docx").write_bytes(b"")
    _encrypted(guideline.path, folder / "locked.pdf")
    (folder / "budget.xlsx").write_bytes(b"PK\x03\x04 not ours")
    data_dir = tmp_path_factory.mktemp("hospital-data") / "data"
    run = _cli("index", str(folder), "--json", data_dir=data_dir)
    return Hospital(folder, data_dir, guideline, chinese, run)


def test_a_folder_of_hospital_files_is_indexed_and_bad_files_reported(hospital: Hospital) -> None:
    run = hospital.index_run
    assert run.returncode == 2, run.stderr  # some files were skipped
    summary = json.loads(run.stdout)
    assert summary["added"] == 5, summary
    folder = hospital.folder
    problems = {line.split(":0: ", 1)[0]: line.split(":0: ", 1)[1] for line in run.stderr.splitlines()
                if ":0: " in line}
    assert problems[str(folder / "empty.docx")] == "empty file"
    assert problems[str(folder / "locked.pdf")].startswith("encrypted PDF")
    assert problems[str(folder / "broken.pdf")].startswith("not a readable PDF")
    assert problems[str(folder / "budget.xlsx")].startswith("unsupported file type .xlsx")
    assert summary["rejected"] == 4
    files = summary["files"]
    assert files["files"] == 5 and files["pages"] >= 6
    if ocr_available():
        assert files["ocr_pages"] == 1 and files["skipped_pages"] == 0
    else:
        assert files["skipped_pages"] == 1
        assert f"{folder / 'scanned.pdf'}: page 1: no text layer" in run.stderr


def test_the_documents_have_sections_pages_and_their_original_file(hospital: Hospital) -> None:
    settings = Settings(data_dir=hospital.data_dir, knowledge_dir=KNOWLEDGE)
    with Runtime.open(settings) as rt:
        ids = set(rt.manifest.versions())
        doc = rt.manifest.document("hospital-docs/guideline.pdf")
        zh = rt.manifest.document("hospital-docs/warfarin_zh.pdf")
        scanned = rt.manifest.document("hospital-docs/scanned.pdf")
    assert ids == {"hospital-docs/guideline.pdf", "hospital-docs/warfarin_zh.pdf", "hospital-docs/scanned.pdf",
                   "hospital-docs/protocols/hiv-testing.docx", "hospital-docs/intranet.html"}
    assert doc is not None and zh is not None and scanned is not None
    assert doc.title == hospital.guideline.title
    assert len(doc.pages) == len(hospital.guideline.page_texts)
    for page in doc.pages:  # each page's text lies on that page of the file
        on_page = _plain(hospital.guideline.page_texts[page.number - 1])
        for line in doc.text[page.start:page.end].split("\n"):
            words = _plain(line)
            if len(words) > 30:
                assert words[:30] in on_page, (page.number, line)
    stored = doc.metadata["file"]
    original = (hospital.folder / "guideline.pdf").read_bytes()
    assert stored["sha256"] == hashlib.sha256(original).hexdigest() and stored["name"] == "guideline.pdf"
    kept = hospital.data_dir / "files" / stored["sha256"][:2] / stored["sha256"][2:]
    assert kept.read_bytes() == original
    assert zh.language == "zh" and " " not in zh.text.replace("\n", "")[:40]
    assert zh.source_type == "label"  # its title says it is a 说明书
    assert [s.heading for s in zh.sections][-4:] == ["不良反应", "药物相互作用", "药物过量", "贮藏"]
    if ocr_available():
        assert scanned.pages and all(p.ocr for p in scanned.pages)


def _plain(text: str) -> str:
    """Text to compare with pypdf's: normalised, without the " | " the parser puts between table cells, and without
    list markers (the fixture prints "•" and "（2）", the document writes its list items as "- x" and "2. x")."""
    return _MARKERS.sub("", normalise(text).replace("|", "").replace("•", ""))


def _ask(question: str, data_dir: Path) -> dict[str, Any]:
    run = _cli("ask", question, "--json", data_dir=data_dir)
    assert run.returncode == 0, run.stderr
    return dict(json.loads(run.stdout))


def _quote_on_its_page(citation: dict[str, Any], fixture: FixturePdf) -> None:
    assert citation["page"] is not None, citation
    pages = range(citation["page"], citation["page_end"] + 1)
    quote = _plain(citation["quote"])
    if citation["page"] == citation["page_end"]:
        assert quote in _plain(fixture.page_texts[citation["page"] - 1]), (citation["page_label"], quote)
    else:  # a quote across a page break: its start on the first page, its end on the last
        assert quote[:20] in _plain(fixture.page_texts[pages[0] - 1]), (citation["page_label"], quote)
        assert quote[-20:] in _plain(fixture.page_texts[pages[-1] - 1]), (citation["page_label"], quote)


def test_ask_cites_the_guideline_with_its_page(hospital: Hospital) -> None:
    answer = _ask(GUIDELINE_QUESTION, hospital.data_dir)
    assert not answer["abstained"], answer["answer"]
    cited = [c for c in answer["citations"] if c["doc_id"] == "hospital-docs/guideline.pdf"]
    assert cited, answer["citations"]
    for citation in cited:
        _quote_on_its_page(citation, hospital.guideline)
        assert citation["file"] == f"/v1/documents/hospital-docs/guideline.pdf/file#page={citation['page']}"
    for citation in answer["citations"]:  # every PDF citation carries its page
        if citation["doc_id"].endswith(".pdf"):
            assert citation["page_label"], citation
    printed = _cli("ask", GUIDELINE_QUESTION, data_dir=hospital.data_dir).stdout
    assert f"p. {cited[0]['page']}" in printed and "original: /v1/documents/hospital-docs/guideline.pdf/file" in printed


def test_a_chinese_question_cites_the_chinese_instruction_page(hospital: Hospital) -> None:
    answer = _ask("华法林钠片的禁忌有哪些？", hospital.data_dir)
    cited = [c for c in answer["citations"] if c["doc_id"] == "hospital-docs/warfarin_zh.pdf"]
    assert cited, answer
    for citation in cited:
        _quote_on_its_page(citation, hospital.chinese)


def test_reindex_update_and_prune(hospital: Hospital, tmp_path: Path) -> None:
    folder = tmp_path / "hospital-docs"
    shutil.copytree(hospital.folder, folder)
    for bad in ("broken.pdf", "empty.docx", "locked.pdf", "budget.xlsx"):
        (folder / bad).unlink()
    data_dir = tmp_path / "data"
    shutil.copytree(hospital.data_dir, data_dir)
    settings = Settings(data_dir=data_dir, knowledge_dir=KNOWLEDGE)
    with Runtime.open(settings) as rt:
        indexer = open_indexer(rt)
        again = indexer.index_paths([folder])
        # the copy sits elsewhere, but ids are relative to the folder: the same documents, unchanged
        assert (again.added, again.updated, again.unchanged, again.rejected) == (0, 0, 5, 0)
        page = folder / "intranet.html"
        page.write_text(page.read_text(encoding="utf-8").replace("</main>", "<p>Reviewed 2026.</p></main>"),
                        encoding="utf-8")
        (folder / "protocols" / "hiv-testing.docx").unlink()
        changed = indexer.index_paths([folder])
        assert (changed.added, changed.updated, changed.unchanged) == (0, 1, 3)
        assert "Reviewed 2026." in (rt.manifest.document("hospital-docs/intranet.html") or _missing()).text
        pruned = indexer.prune_files([hospital.folder])  # the first copy's files are all still there
        assert pruned == []
        assert indexer.prune_files([folder]) == ["hospital-docs/protocols/hiv-testing.docx"]
        assert rt.manifest.document("hospital-docs/protocols/hiv-testing.docx") is None
        assert rt.vectors.count() > 0


def _missing() -> Any:
    raise AssertionError("document missing")


@pytest.fixture(scope="module")
def api(hospital: Hospital) -> Iterator[tuple[str, dict[str, str]]]:
    settings = Settings(data_dir=hospital.data_dir, knowledge_dir=KNOWLEDGE, file_max_bytes=5_000_000)
    keys = KeyStore(settings.keys_path)
    _, admin = keys.create("admin", "files-admin")
    _, reader = keys.create("reader", "files-reader")
    keys.close()
    with serving(create_app(settings, indexer_factory=serving_indexer)) as base:
        yield base, {"admin": admin, "reader": reader}


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_the_original_file_is_served_to_a_reader(hospital: Hospital, api: tuple[str, dict[str, str]]) -> None:
    base, keys = api
    url = f"{base}/v1/documents/hospital-docs/guideline.pdf/file"
    assert httpx.get(url).status_code == 401
    served = httpx.get(url, headers=_auth(keys["reader"]))
    assert served.status_code == 200
    assert served.headers["content-type"] == "application/pdf"
    assert served.content == (hospital.folder / "guideline.pdf").read_bytes()
    assert "private" in served.headers["cache-control"]
    page = httpx.get(f"{base}/v1/documents/hospital-docs/intranet.html/file", headers=_auth(keys["reader"]))
    assert page.status_code == 200 and page.headers["content-security-policy"].startswith("sandbox")
    missing = httpx.get(f"{base}/v1/documents/nope.pdf/file", headers=_auth(keys["reader"]))
    assert missing.status_code == 404 and missing.json()["error"]["field"] == "id"


def test_upload_a_file(hospital: Hospital, api: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    base, keys = api
    admin = _auth(keys["admin"])
    note = "# Heparin protocol\n\n## Dosing\n\nHeparin infusion starts at 18 units/kg/h after an 80 units/kg bolus.\n"
    files = {"file": ("heparin.md", note.encode(), "text/markdown")}
    reader = httpx.post(f"{base}/v1/documents", files=files, headers=_auth(keys["reader"]))
    assert reader.status_code == 403
    made = httpx.post(f"{base}/v1/documents", files=files, data={"id": "hosp/heparin", "source_type": "guideline"},
                      headers=admin, timeout=120)
    assert made.status_code == 201, made.text
    assert made.json()["id"] == "hosp/heparin" and made.json()["status"] == "added"
    doc = httpx.get(f"{base}/v1/documents/hosp/heparin", headers=admin).json()
    assert doc["title"] == "Heparin protocol" and doc["sections"][0]["heading"] == "Dosing"
    assert httpx.get(f"{base}/v1/documents/hosp/heparin/file", headers=admin).content == note.encode()
    scanned = httpx.post(f"{base}/v1/documents", headers=admin, timeout=300,
                         files={"file": ("scan.pdf", (hospital.folder / "scanned.pdf").read_bytes())})
    assert scanned.status_code == 201
    if not ocr_available():
        assert scanned.json()["warnings"] == ["page 1: no text layer"]
    bad = [
        ({"file": ("sheet.xlsx", b"PK\x03\x04", "application/octet-stream")}, 415, "file"),
        ({"file": ("cut.pdf", (hospital.folder / "broken.pdf").read_bytes(), "application/pdf")}, 422, "file"),
        ({"file": ("big.txt", b"a" * 5_100_000, "text/plain")}, 413, "file"),
        ({"other": ("x.md", b"# x", "text/markdown")}, 422, "file"),
    ]
    for upload, status, field in bad:
        answer = httpx.post(f"{base}/v1/documents", files=upload, headers=admin, timeout=120)
        assert answer.status_code == status, (upload.keys(), answer.text)
        assert answer.json()["error"]["field"] in (field, "body")


@pytest.mark.browser
def test_the_evidence_card_links_to_the_cited_page(hospital: Hospital, api: tuple[str, dict[str, str]],
                                                   browser: Any) -> None:
    base, keys = api
    answer = httpx.post(f"{base}/v1/ask", json={"question": GUIDELINE_QUESTION}, headers=_auth(keys["reader"]),
                        timeout=300).json()
    cited = next(c for c in answer["citations"] if c["doc_id"] == "hospital-docs/guideline.pdf")
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    try:
        page.goto(base + "/")
        page.fill("#api-key", keys["reader"])
        page.get_by_label("Question (Chinese or English)").fill(GUIDELINE_QUESTION)
        page.keyboard.press("Enter")
        page.wait_for_selector("body[data-answer-state='answered']", timeout=300_000)
        card = page.locator(f"#ev-{cited['n']}")
        link = card.locator("a.original")
        assert link.get_attribute("href") == f"/v1/documents/hospital-docs/guideline.pdf/file#page={cited['page']}"
        assert link.inner_text() == f"original file, {cited['page_label']}"
        with context.expect_page() as opened:
            link.click()
        popup = opened.value
        assert popup.url.startswith("blob:") and popup.url.endswith(f"#page={cited['page']}")
    finally:
        context.close()


def test_every_pdf_citation_carries_the_page_its_quote_is_on(hospital: Hospital,
                                                             api: tuple[str, dict[str, str]]) -> None:
    """Questions from the guideline's own headings and from the Chinese sheet's sections, through the API: every
    citation of either PDF names the page pypdf (pdfium for the Chinese sheet) finds its quote on."""
    base, keys = api
    questions = [f"What does the HIV testing guideline say about {h.split(' — ')[-1].lower()}?"
                 for h in hospital.guideline.sections[:8]]
    questions += [f"华法林钠片的{h.strip('【】')}是什么？" for h in hospital.chinese.sections]
    fixtures = {"hospital-docs/guideline.pdf": hospital.guideline, "hospital-docs/warfarin_zh.pdf": hospital.chinese}
    checked = 0
    for question in questions:
        answer = httpx.post(f"{base}/v1/ask", json={"question": question}, headers=_auth(keys["reader"]), timeout=300)
        assert answer.status_code == 200, answer.text
        for citation in answer.json()["citations"]:
            if citation["doc_id"] in fixtures:
                _quote_on_its_page(citation, fixtures[citation["doc_id"]])
                checked += 1
    print(f"{checked} PDF citations of {len(questions)} questions, each on its page")
    assert checked >= len(questions)
