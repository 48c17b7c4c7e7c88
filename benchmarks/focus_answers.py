"""Answer focus: is the answer about the drug that was asked, or about another one?  Baseline vs working tree.

    python -m benchmarks.focus_answers [--data-dir data/eval] [--baseline-ref 77e347a] [--out benchmarks/results]
                                       [--limit N] [--only baseline|current] [--medicationqa PATH]

Why: a question about a drug the knowledge holds no label of (amoxicillin, Valium) was answered from the label of
another drug (the nearest passage by meaning), and a question about a drug it does hold could still be answered
from a sentence about a different one.  This benchmark counts both, on the code of a baseline commit and on the
working tree, in one run, over the same questions and the same index, so a change to the answer path shows up
as a before/after table.

How: the answers of each code version are collected in a subprocess (``--collect``) whose ``import app`` is that
version's code: the baseline runs in a git worktree of ``--baseline-ref`` (``$TMPDIR/medevidence-baseline-<ref>``,
made once and reused), the working tree in this checkout; one after the other (the data dir holds a lock),
extractive answers only (``MEDEVIDENCE_LLM_URL`` is removed from the subprocess's environment).  The collect step
uses only the API both versions have (``Runtime``, ``app.compose`` or before it ``Searcher`` and ``build_asker``,
``AskRequest``), times each
``ask`` (wall ms, after a warm-up), re-reads each citation from the stored document of its version, and writes a
catalog of the questions' focus drugs made with that version's drug name resolver.  The scorer uses the working
tree's catalog (the baseline's when only the baseline ran) for both versions, so both are judged by one set of
names; its functions are pure.

Questions:

- ``medicationqa``: the 196 real consumer questions of ``../shared/data/questions/medicationqa_dev.jsonl`` (read at
  run time; a development set, never copied into the repository).  Its committed outputs carry ids, focus
  annotations and our answers' metadata only, never the question text or the gold answer.
- ``focus``: ``benchmarks/data/focus_questions.jsonl`` (ours): English and Chinese questions over many aspects,
  ``expect`` = ``held`` (the index has a label of the drug) or ``absent`` (it has none, or does not know the name).
  A question about a pair ("Does amiodarone interact with warfarin?") names both drugs in ``focus``: the
  partner's label is evidence about the pair.  The run reports whether the index agrees with ``expect``.

Each set is split by the id's hash (the last hex digit of sha256(id) even: ``tune``, odd: ``held-out``); every
metric is reported for both halves and for all.  Tune on ``tune``; report ``held-out``.

The focus drug's names: the annotated ``focus`` resolved with ``DrugNameResolver`` (graph names, label brands,
hospital aliases), whole and split on ``,`` ``;`` ``&`` `` and `` ``+`` ``/``; each resolved drug contributes its
English, Chinese, brand and alias names.  A focus that resolves to nothing is named by its own text and its words
(minus salt/form and generic words).  A drug is *labelled* when an indexed label (``source_type`` ``label``) is
about it: a ``DESCRIBED_BY`` edge of the graph, or the label's generic / active-ingredient / substance / brand name
resolves to it.  A name is found in a text case-insensitively after NFKC and punctuation folding, on word
boundaries for ASCII names and as a substring otherwise (Chinese).

Metrics, per code version, per set and split (``n`` is always shown):

- **answered**: share of questions not abstained; also among questions whose focus drug is labelled.
- **off-topic** (only questions whose focus resolves to at least one drug of the graph, and answered): an answer
  is off-topic when ANY citation's ``title + " " + quote`` names none of the focus names; **first off-topic**:
  the first citation (the first sentence's evidence) does.
- **scoped abstention** (questions whose focus has no label, or does not resolve): share that abstained AND whose
  answer text names the drug (any of its names, or the focus text), e.g. "The indexed knowledge has no label for
  amoxicillin."; plain abstention share shown beside it.  **Scoped abstention, known drug**: the same, only for
  questions whose focus resolves to a drug of the graph that no indexed label is about (the issue's target
  population: the knowledge knows the drug's names but holds no label).  **Honest handling** of those: a scoped
  abstention, or an answer whose every citation names the drug (an interaction question answered from another
  drug's label that names it, a reference page on it).
- **aspect-section match** (answered, with a citation, aspect mapped below): the first citation's section heading
  matches the aspect's pattern (case-insensitive ``re.search``):

  | aspect (MedicationQA ``type`` or ours) | section pattern |
  | --- | --- |
  | Dose, Overdose, Dose/time, maximum dose | ``dosage|overdos`` |
  | Side effects | ``adverse reactions|side effects|warnings`` |
  | Contraindication(s) | ``contraindications`` |
  | Interaction | ``interactions`` |
  | Indication | ``indications|uses|purpose`` |
  | Storage and disposal, storage | ``storage|how supplied`` |
  | Appearance | ``how supplied|description|dosage forms`` |
  | Ingredient | ``ingredient|description|composition`` |
  | Usage, Usage/time | ``dosage and administration|directions`` |
  | Action, mechanism | ``clinical pharmacology|mechanism`` |
  | pregnancy | ``pregnan|specific populations`` |
  | breastfeeding | ``lactation|nursing|breast|specific populations`` |
  | renal | ``renal|dosage|specific populations`` |
  | children | ``pediatric|children|dosage|specific populations`` |
  | missed dose | ``missed|dosage`` |

- **latency**: p50 / p95 of ``Asker.ask`` over all questions (abstentions are fast), and p50 over the answered
  ones (the extractive answer's own cost).
- **gold token recall** (MedicationQA only, answered): share of the gold answer's content words (lower-case
  alphanumeric words of at least 3 characters, minus a small stop list) found among the answer's words; mean over
  answered questions.  A weak signal: gold answers come from MedlinePlus, DailyMed or Wikipedia pages that are
  mostly not in the knowledge, and share many words with any text about medicines.
- **citations verbatim**: citations whose quote equals ``text[start:end]`` of the stored document of that version
  (checked in the collect step).
- **latency**: p50 / p95 (nearest rank) of the wall time of ``Asker.ask``.

The new code may add ``abstain_case`` and ``focus`` to an answer; they are recorded (the per-question listing
shows ``abstain_case``) but no metric depends on them.

Outputs (``--out``): ``focus_answers.md`` (a table per metric), ``focus_answers.json``, and
``focus_answers_questions.jsonl`` (one line per question and version).  The raw answers stay in a temporary
folder (printed; ``--work`` to choose it).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MEDICATIONQA = ROOT.parent / "shared" / "data" / "questions" / "medicationqa_dev.jsonl"
FOCUS_QUESTIONS = ROOT / "benchmarks" / "data" / "focus_questions.jsonl"
DEFAULT_BASELINE_REF = "77e347a"
VERSIONS = ("baseline", "current")
SPLITS = ("tune", "held-out", "all")
SETS = ("medicationqa", "focus")

ASPECT_SECTIONS: dict[str, str] = {
    "dose": r"dosage|overdos", "overdose": r"dosage|overdos", "dose/time": r"dosage|overdos",
    "maximum dose": r"dosage|overdos",
    "side effects": r"adverse reactions|side effects|warnings",
    "contraindication": r"contraindications", "contraindications": r"contraindications",
    "interaction": r"interactions",
    "indication": r"indications|uses|purpose",
    "storage and disposal": r"storage|how supplied", "storage": r"storage|how supplied",
    "appearance": r"how supplied|description|dosage forms",
    "ingredient": r"ingredient|description|composition",
    "usage": r"dosage and administration|directions", "usage/time": r"dosage and administration|directions",
    "action": r"clinical pharmacology|mechanism", "mechanism": r"clinical pharmacology|mechanism",
    "pregnancy": r"pregnan|specific populations",
    "breastfeeding": r"lactation|nursing|breast|specific populations",
    "renal": r"renal|dosage|specific populations",
    "children": r"pediatric|children|dosage|specific populations",
    "missed dose": r"missed|dosage",
}
# Words of an unresolved focus that name no drug ("drugs that cause urination", "pneumonia vaccine").
FORM_WORDS = frozenset({
    "hcl", "hydrochloride", "sodium", "potassium", "calcium", "sulfate", "succinate", "phosphate", "acetate",
    "oral", "solution", "injection", "tablet", "tablets", "capsule", "capsules", "extended", "release", "cream",
    "gel", "patch", "powder", "ointment", "drops", "syrup", "spray", "inhalation", "ophthalmic", "topical",
    "transdermal", "pen", "shot", "shots", "vaccine", "drug", "drugs", "medication", "medications", "medicine",
    "medicines", "that", "cause", "with", "other", "and", "the", "for", "exploration",
})
STOP_WORDS = frozenset({
    "the", "and", "for", "with", "that", "this", "are", "was", "were", "you", "your", "not", "but", "can", "may",
    "has", "have", "had", "from", "its", "into", "than", "then", "also", "any", "all", "each", "other", "such",
    "will", "should", "would", "could", "been", "being", "which", "who", "what", "when", "where", "how", "why",
    "more", "most", "some", "only", "over", "use", "used", "about", "they", "them", "their", "these", "those",
    "there", "does", "did", "our", "out", "one", "take", "taking", "see", "get",
})
_FOCUS_SPLIT = re.compile(r"\s*(?:,|;|&|\+|/|\band\b)\s*", re.IGNORECASE)
_PUNCT = re.compile(r"[^\w\s\u3400-\u9fff]+")
_WORD = re.compile(r"[a-z0-9]{3,}")
_MIN_ASCII_NAME = 3


# ---------------------------------------------------------------- pure scoring functions

def split_of(qid: str) -> str:
    """``tune`` when the last hex digit of sha256(id) is even, else ``held-out`` (stable across runs)."""
    return "tune" if int(hashlib.sha256(qid.encode("utf-8")).hexdigest()[-1], 16) % 2 == 0 else "held-out"


def normalize(text: str) -> str:
    """NFKC, lower case, punctuation to spaces, spaces collapsed."""
    text = unicodedata.normalize("NFKC", text).replace("\u2019", "'").lower()
    return re.sub(r"\s+", " ", _PUNCT.sub(" ", text)).strip()


def focus_parts(focus: str) -> list[str]:
    """The focus and its parts split on , ; & + / and "and" ("clopidogrel  & aspirin" → both), unique."""
    parts = [focus.strip(), *(p.strip() for p in _FOCUS_SPLIT.split(focus))]
    return list(dict.fromkeys(p for p in parts if normalize(p)))


def fallback_names(focus: str) -> list[str]:
    """Names of a focus that resolves to no drug: its text and its words minus salt/form and generic words."""
    names = [normalize(focus)]
    for part in focus_parts(focus):
        names += [w for w in normalize(part).split() if len(w) >= 4 and w not in FORM_WORDS and not w.isdigit()]
    return list(dict.fromkeys(n for n in names if n))


def names_in(text: str, names: Iterable[str]) -> bool:
    """Whether ``text`` names any of ``names`` (word-bounded for ASCII names, substring for the others)."""
    folded = normalize(text)
    for name in names:
        key = normalize(name)
        if not key:
            continue
        if key.isascii():
            if len(key) >= _MIN_ASCII_NAME and re.search(rf"(?<![a-z0-9]){re.escape(key)}(?![a-z0-9])", folded):
                return True
        elif key in folded:
            return True
    return False


def citation_on_topic(citation: dict[str, Any], names: Sequence[str]) -> bool:
    return names_in(f"{citation.get('title') or ''} {citation.get('quote') or ''}", names)


def section_matches(aspect: str, section: str | None) -> bool | None:
    """Whether a section heading fits the aspect (None: the aspect maps to no section)."""
    pattern = ASPECT_SECTIONS.get(aspect.strip().lower())
    if pattern is None:
        return None
    return bool(section) and re.search(pattern, section or "", re.IGNORECASE) is not None


def content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in STOP_WORDS}


def token_recall(gold: str, answer: str) -> float | None:
    """Share of the gold answer's content words present in the answer (None when the gold has none)."""
    wanted = content_words(gold)
    return len(wanted & content_words(answer)) / len(wanted) if wanted else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


@dataclass(frozen=True)
class Focus:
    """What the scorer knows of a question's focus drug(s)."""

    text: str
    drug_ids: tuple[str, ...]
    names: tuple[str, ...]
    labelled: bool

    @property
    def resolved(self) -> bool:
        return bool(self.drug_ids)


def focus_of(text: str, entry: dict[str, Any] | None) -> Focus:
    """The focus from its catalog entry (``{"drugs": [{"id", "names", "label"}]}``) or its own words."""
    drugs = (entry or {}).get("drugs") or []
    if not drugs:
        return Focus(text, (), tuple(fallback_names(text)), False)
    names = [n for d in drugs for n in d["names"]]
    return Focus(text, tuple(d["id"] for d in drugs), tuple(dict.fromkeys(names)), any(d["label"] for d in drugs))


def score_answer(answer: dict[str, Any], focus: Focus, aspect: str, gold: str | None) -> dict[str, Any]:
    """One question's per-answer facts (see the module docstring for each)."""
    citations = list(answer.get("citations") or [])
    answered = not answer.get("abstained")
    first = citations[0] if citations else None
    on_topic = [citation_on_topic(c, focus.names) for c in citations]
    checks = [bool(c.get("verbatim")) for c in citations]
    return {
        "answered": answered,
        "off_topic": (answered and bool(citations) and not all(on_topic)) if focus.resolved else None,
        "first_off_topic": (answered and bool(citations) and not on_topic[0]) if focus.resolved else None,
        "scoped": (not answered and names_in(str(answer.get("answer") or ""), focus.names + (focus.text,)))
        if not focus.labelled else None,
        "aspect_match": section_matches(aspect, first.get("section")) if answered and first else None,
        "recall": token_recall(gold, str(answer.get("answer") or "")) if answered and gold else None,
        "citations": len(checks), "verbatim": sum(checks),
        "first_title": first.get("title") if first else None, "first_section": first.get("section") if first else None,
    }


def _share(flags: Sequence[bool]) -> dict[str, Any]:
    return {"k": sum(flags), "n": len(flags), "value": sum(flags) / len(flags) if flags else None}


def _mean(values: Sequence[float]) -> dict[str, Any]:
    return {"n": len(values), "value": statistics.fmean(values) if values else None}


def aggregate(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The metrics over scored rows of one version and one group (rows: ``score_answer`` + focus, ms)."""
    answered = [r for r in rows if r["answered"]]
    resolved = [r for r in answered if r["off_topic"] is not None and r["citations"]]
    absent = [r for r in rows if not r["labelled"]]
    ms = [float(r["ms"]) for r in rows if r.get("ms") is not None]
    return {
        "questions": len(rows),
        "focus_resolved": sum(r["resolved"] for r in rows),
        "focus_labelled": sum(r["labelled"] for r in rows),
        "answered": _share([r["answered"] for r in rows]),
        "answered_labelled": _share([r["answered"] for r in rows if r["labelled"]]),
        "off_topic": _share([bool(r["off_topic"]) for r in resolved]),
        "first_off_topic": _share([bool(r["first_off_topic"]) for r in resolved]),
        "scoped_abstention": _share([bool(r["scoped"]) for r in absent]),
        "scoped_abstention_known": _share([bool(r["scoped"]) for r in absent if r["resolved"]]),
        "unlabelled_honest": _share([bool(r["scoped"]) or (r["answered"] and r["off_topic"] is False)
                                     for r in absent if r["resolved"]]),
        "abstained_absent": _share([not r["answered"] for r in absent]),
        "aspect_match": _share([bool(r["aspect_match"]) for r in answered if r["aspect_match"] is not None]),
        "gold_token_recall": _mean([float(r["recall"]) for r in answered if r["recall"] is not None]),
        "citations_verbatim": {"k": sum(r["verbatim"] for r in rows), "n": sum(r["citations"] for r in rows),
                               "value": (sum(r["verbatim"] for r in rows) / sum(r["citations"] for r in rows))
                               if sum(r["citations"] for r in rows) else None},
        "latency_p50_ms": percentile(ms, 50), "latency_p95_ms": percentile(ms, 95),
        "latency_answered_p50_ms": percentile([float(r["ms"]) for r in answered if r.get("ms") is not None], 50),
    }


# ---------------------------------------------------------------- questions

@dataclass(frozen=True)
class Question:
    set: str
    id: str
    question: str
    focus: str
    aspect: str
    expect: str | None = None  # ours: held | absent
    gold: str | None = None  # MedicationQA only; never written out

    @property
    def split(self) -> str:
        return split_of(self.id)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_questions(medicationqa: Path, limit: int | None) -> list[Question]:
    mqa = [Question("medicationqa", str(r["id"]), str(r["question"]), str(r.get("focus") or ""),
                    str(r.get("type") or ""), None, str(r.get("answer") or "") or None)
           for r in _read_jsonl(medicationqa)]
    ours = [Question("focus", str(r["id"]), str(r["question"]), str(r["focus"]), str(r["aspect"]), str(r["expect"]))
            for r in _read_jsonl(FOCUS_QUESTIONS)]
    return mqa[:limit] + ours[:limit] if limit else mqa + ours


# ---------------------------------------------------------------- collect (runs in each version's checkout)

def _label_names(metadata: dict[str, Any]) -> list[str]:
    """The drug names a label's metadata gives (generic, active ingredient, substances, brands)."""
    out: list[str] = []
    for key in ("generic_name", "active_ingredient", "brand_name", "substance_names", "brand_names"):
        value = metadata.get(key)
        values = value if isinstance(value, list) else [value]
        out += [v for v in values if isinstance(v, str)]
    return out


def focus_catalog(rt: Any, focuses: Sequence[str]) -> dict[str, Any]:
    """Each focus → its drugs (id, name, names, label) with this version's resolver; labelled drugs counted."""
    from app.drugs.aliases import AliasStore
    from app.drugs.catalog import label_brands
    from app.drugs.names import DrugNameResolver

    knowledge = rt.load_knowledge()
    store = AliasStore(rt.settings.aliases_path)
    try:
        aliases = store.all()
    finally:
        store.close()
    try:  # this version's signature: the manifest; before the house was put in order, the runtime
        brands = label_brands(rt.manifest, knowledge)
    except AttributeError:
        brands = label_brands(rt, knowledge)
    resolver = DrugNameResolver(knowledge, brands, aliases)
    labelled = set(rt.graph.labels_of([d.id for d in knowledge.drugs]))
    for doc in rt.manifest.documents_of_type("label"):
        for name in _label_names(doc.metadata):
            labelled.update(resolver.resolve(name).drug_ids)
    entries: dict[str, Any] = {}
    for focus in dict.fromkeys(focuses):
        ids = list(dict.fromkeys(i for part in focus_parts(focus) for i in resolver.resolve(part).drug_ids))
        drugs = []
        for drug_id in ids:
            names = resolver.names_of(drug_id)
            drugs.append({"id": drug_id, "name": resolver.drugs[drug_id].name, "label": drug_id in labelled,
                          "names": list(dict.fromkeys(n for kind in ("en", "zh", "brands", "aliases")
                                                      for n in names[kind]))})
        entries[focus] = {"drugs": drugs}
    return {"labelled_drugs": len(labelled), "drugs": len(knowledge.drugs), "focus": entries}


def _verbatim(rt: Any, citations: list[dict[str, Any]], docs: dict[str, Any]) -> None:
    """Mark each citation ``verbatim``: its quote is the stored text[start:end] of its version."""
    for c in citations:
        if c["doc_id"] not in docs:
            docs[c["doc_id"]] = rt.manifest.document(c["doc_id"])
        doc = docs[c["doc_id"]]
        c["verbatim"] = bool(doc is not None and doc.version == c["version"]
                             and doc.text[c["start"]:c["end"]] == c["quote"])


def collect(questions: Path, output: Path, data_dir: Path, catalog: Path | None) -> int:
    """Answer every question with this checkout's code (extractive); one JSON line per answer."""
    os.environ.pop("MEDEVIDENCE_LLM_URL", None)
    import app
    from app.answer.ask import AskRequest
    from app.answer.factory import build_asker, close_asker
    from app.config import Settings
    from app.retrieval.search import Searcher
    from app.runtime import Runtime

    # This version's app/compose.py, if it has one: the editable install would serve the working tree's to a
    # baseline that lacks it, so ask its folder, not the import system.
    compose = importlib.import_module("app.compose") if (Path(app.__file__).parent / "compose.py").exists() else None
    rows = _read_jsonl(questions)
    settings = Settings(data_dir=data_dir)
    meta = {"app": str(Path(app.__file__).resolve().parent), "llm_url": settings.llm_url}
    print(f"collect: app from {meta['app']}, {len(rows)} questions", file=sys.stderr)
    with Runtime.open(settings) as rt:
        if catalog is not None:
            try:
                made = focus_catalog(rt, [str(r["focus"]) for r in rows])
            except Exception:  # noqa: BLE001 - the answers are still worth collecting; the scorer falls back
                made = {"error": traceback.format_exc()[-3000:]}
            catalog.write_text(json.dumps({**meta, **made}, ensure_ascii=False), encoding="utf-8")
        if compose is not None:
            searcher = compose.open_searcher(rt)
            searcher.warm_up()
            asker = compose.open_asker(rt, searcher)
        else:  # a baseline from before app/compose.py: Searcher(rt) and build_asker(searcher) (untyped here)
            legacy_searcher: Any = Searcher
            legacy_asker: Any = build_asker
            searcher = legacy_searcher(rt)
            searcher.warm_up()
            asker = legacy_asker(searcher)
        asker.warm_up()
        docs: dict[str, Any] = {}
        with output.open("w", encoding="utf-8") as out:
            for n, row in enumerate(rows, 1):
                started = time.perf_counter()
                answer = asker.ask(AskRequest(str(row["question"])))
                ms = (time.perf_counter() - started) * 1000
                _verbatim(rt, answer.get("citations") or [], docs)
                out.write(json.dumps({"id": row["id"], "ms": round(ms, 1), "answer": answer},
                                     ensure_ascii=False, default=str) + "\n")
                if n % 25 == 0:
                    print(f"collect: {n}/{len(rows)}", file=sys.stderr)
        close_asker(asker)
        searcher.close()
    return 0


# ---------------------------------------------------------------- orchestration

def baseline_checkout(ref: str) -> Path:
    """A detached worktree of ``ref`` under the temp dir, made once and reused (nothing is ever removed)."""
    want = _git("rev-parse", f"{ref}^{{commit}}")
    path = Path(tempfile.gettempdir()) / f"medevidence-baseline-{ref}"
    if not (path / "app").is_dir():
        force = ["--force"] if str(path) in _git("worktree", "list") else []  # registered, folder since removed
        subprocess.run(["git", "worktree", "add", *force, "--detach", str(path), want], cwd=ROOT, check=True,
                       capture_output=True, text=True)
    have = subprocess.run(["git", "rev-parse", "HEAD"], cwd=path, check=True, capture_output=True,
                          text=True).stdout.strip()
    if have != want:
        raise RuntimeError(f"{path} is at {have[:10]}, not {ref} ({want[:10]}): move it aside or pass another ref")
    return path


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()


def _ensure_index(data_dir: Path, tolerate: bool) -> dict[str, Any]:
    """Index the starter knowledge with the working tree's code unless ``data_dir`` holds it already.
    ``tolerate``: a baseline-only run goes on over an existing index when the working tree cannot even do that."""
    try:
        from app.config import Settings
        from benchmarks.retrieval_eval import ensure_index
        from benchmarks.search_latency import _starter_documents

        return ensure_index(data_dir, _starter_documents(Settings(data_dir=data_dir).knowledge_dir), "app.cli")
    except Exception:
        if not tolerate or not (data_dir / "manifest.sqlite").exists():
            raise
        print(f"warning: the working tree could not check the index; using {data_dir} as it is:\n"
              + traceback.format_exc()[-2000:], file=sys.stderr)
        return {}


def run_collect(version: str, checkout: Path, questions: Path, data_dir: Path, work: Path) -> dict[str, Any]:
    """Run ``--collect`` with ``checkout``'s code; the answers by id and the catalog, or the error."""
    output, catalog, log = (work / f"{version}.answers.jsonl", work / f"{version}.catalog.json",
                            work / f"{version}.log")
    env = {k: v for k, v in os.environ.items() if k != "MEDEVIDENCE_LLM_URL"}
    env["PYTHONPATH"] = str(checkout)
    # By path, not -m: the baseline checkout predates this module; sys.path[0] is then benchmarks/, which holds
    # no ``app``, so PYTHONPATH's checkout is what ``import app`` finds (the collect step checks it).
    cmd = [sys.executable, str(Path(__file__).resolve()), "--collect", "--questions", str(questions),
           "--output", str(output), "--catalog", str(catalog), "--data-dir", str(data_dir)]
    print(f"{version}: collecting with {checkout} ...", file=sys.stderr)
    started = time.perf_counter()
    with log.open("w", encoding="utf-8") as fh:
        proc = subprocess.run(cmd, cwd=checkout, env=env, stdout=fh, stderr=subprocess.STDOUT)
    seconds = round(time.perf_counter() - started, 1)
    info: dict[str, Any] = {"checkout": str(checkout), "seconds": seconds, "log": str(log)}
    if proc.returncode != 0:
        info["error"] = f"exit {proc.returncode}:\n" + log.read_text(encoding="utf-8")[-4000:]
        print(f"{version}: FAILED after {seconds}s\n{info['error']}", file=sys.stderr)
        return info
    info["answers"] = {str(r["id"]): r for r in _read_jsonl(output)}
    info["catalog"] = json.loads(catalog.read_text(encoding="utf-8")) if catalog.exists() else {}
    app_dir = str(info["catalog"].get("app", ""))
    if app_dir and not app_dir.startswith(str(checkout.resolve())):
        raise RuntimeError(f"{version}: the collect step imported app from {app_dir}, not from {checkout}")
    print(f"{version}: {len(info['answers'])} answers in {seconds}s", file=sys.stderr)
    return info


def score(questions: Sequence[Question], runs: dict[str, dict[str, Any]],
          catalog: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Per-question rows (all versions) and the metrics: version → "set/split" → metrics."""
    rows: list[dict[str, Any]] = []
    metrics: dict[str, Any] = {}
    for version, run in runs.items():
        if "answers" not in run:
            continue
        mine = []
        for q in questions:
            record = run["answers"].get(q.id)
            if record is None:
                continue
            focus = focus_of(q.focus, catalog.get(q.focus))
            scored = score_answer(record["answer"], focus, q.aspect, q.gold)
            mine.append({"version": version, "set": q.set, "split": q.split, "id": q.id,
                         "resolved": focus.resolved, "labelled": focus.labelled, "ms": record["ms"],
                         "answer": record["answer"], "question": q, **scored})
        rows += mine
        metrics[version] = {f"{s}/{split}": aggregate([r for r in mine if r["set"] == s
                                                       and (split == "all" or r["split"] == split)])
                            for s in SETS for split in SPLITS}
    return rows, metrics


def listing(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The committed per-question lines: no MedicationQA question text, no gold answer."""
    out = []
    for r in rows:
        q: Question = r["question"]
        answer = r["answer"]
        out.append({
            "version": r["version"], "set": q.set, "split": q.split, "id": q.id,
            "question": q.question if q.set == "focus" else None, "focus": q.focus, "aspect": q.aspect,
            "expect": q.expect, "resolved": r["resolved"], "labelled": r["labelled"],
            "abstained": not r["answered"], "abstain_reason": answer.get("abstain_reason"),
            "abstain_case": answer.get("abstain_case"), "first_citation_title": r["first_title"],
            "first_citation_section": r["first_section"], "off_topic": r["off_topic"],
            "first_off_topic": r["first_off_topic"], "scoped_abstention": r["scoped"],
            "aspect_match": r["aspect_match"], "ms": r["ms"],
        })
    return out


def catalog_summary(questions: Sequence[Question], catalog: dict[str, Any]) -> dict[str, Any]:
    """How the focuses resolved: counts per set, our ``expect`` against the index, unresolved MedicationQA focuses."""
    out: dict[str, Any] = {}
    for s in SETS:
        qs = [q for q in questions if q.set == s]
        focuses = [focus_of(q.focus, catalog.get(q.focus)) for q in qs]
        out[s] = {"questions": len(qs), "resolved": sum(f.resolved for f in focuses),
                  "labelled": sum(f.labelled for f in focuses),
                  "unresolved_focus": sorted({f.text for f in focuses if not f.resolved}),
                  "resolved_unlabelled_focus": sorted({f.text for f in focuses if f.resolved and not f.labelled}),
                  "labelled_focus": sorted({f.text for f in focuses if f.labelled})}
    ours = [(q, focus_of(q.focus, catalog.get(q.focus))) for q in questions if q.set == "focus"]
    out["focus"]["expect_disagrees"] = [q.id for q, f in ours if (q.expect == "held") != f.labelled]
    return out


def _fmt(m: dict[str, Any], key: str) -> str:
    v = m[key]
    if key.startswith("latency"):
        return "–" if v is None else f"{v:.0f} ms"
    if "k" in v:
        return "–" if v["value"] is None else f"{v['value']:.0%} ({v['k']}/{v['n']})"
    return "–" if v["value"] is None else f"{v['value']:.2f} (n={v['n']})"


METRIC_TITLES = {
    "answered": "Answered (not abstained)",
    "answered_labelled": "Answered, focus drug labelled",
    "off_topic": "Off-topic answers (any citation names none of the focus names; focus resolved, answered)",
    "first_off_topic": "First citation off-topic (focus resolved, answered)",
    "scoped_abstention": "Scoped abstention (focus unlabelled or unresolved: abstained AND the answer names it)",
    "scoped_abstention_known": "Scoped abstention, focus a known drug without a label (the target: >= 95%)",
    "unlabelled_honest": "Known drug without a label: scoped abstention, or an answer whose every citation names it",
    "abstained_absent": "Abstained, focus unlabelled or unresolved",
    "aspect_match": "Aspect-section match (first citation's section fits the question type)",
    "gold_token_recall": "Gold token recall (MedicationQA, answered; weak signal)",
    "citations_verbatim": "Citations verbatim",
    "latency_p50_ms": "Latency p50 (Asker.ask)",
    "latency_p95_ms": "Latency p95 (Asker.ask)",
    "latency_answered_p50_ms": "Latency p50 of the answered questions (Asker.ask; target <= 400 ms)",
}


def render(report: dict[str, Any]) -> str:
    metrics = report["metrics"]
    versions = [v for v in VERSIONS if v in metrics]
    lines = ["# Answer focus: about the drug that was asked?", "",
             f"Baseline `{report['meta']['baseline_ref']}` vs the working tree (`{report['meta']['head']}`"
             f"{' + uncommitted changes' if report['meta']['dirty'] else ''}), extractive answers, "
             f"`{report['meta']['data_dir_name']}`; {report['meta']['date']}, {report['meta']['machine']}. "
             "Definitions: `benchmarks/focus_answers.py` docstring. Splits by sha256(id); tune on `tune`.", ""]
    for version, run in report["runs"].items():
        lines.append(f"- {version}: collected in {run['seconds']:.0f} s (start-up, warm-up and every question)"
                     + (" — FAILED, see below" if "error" in run else ""))
    lines.append("")
    for version, run in report["runs"].items():
        if "error" in run:
            lines += [f"**{version} failed**:", "", "```", run["error"].strip()[-2500:], "```", ""]
    cat = report["focus_catalog"]
    disagree = cat["focus"]["expect_disagrees"]
    lines += [f"Focus resolution ({report['meta']['catalog_from']} resolver): MedicationQA "
              f"{cat['medicationqa']['resolved']}/{cat['medicationqa']['questions']} resolve to a graph drug, "
              f"{cat['medicationqa']['labelled']} to a labelled drug; ours {cat['focus']['resolved']}/"
              f"{cat['focus']['questions']} resolve, {cat['focus']['labelled']} labelled; "
              + (f"`expect` disagrees with the index: {', '.join(disagree)}." if disagree
                 else "every `expect` agrees with the index."), ""]
    for key, title in METRIC_TITLES.items():
        lines += [f"## {title}", "", "| set | split | questions | " + " | ".join(versions) + " |",
                  "| --- | --- | ---: | " + " | ".join("---" for _ in versions) + " |"]
        for group in metrics[versions[0]] if versions else []:
            s, split = group.split("/")
            if key == "gold_token_recall" and s != "medicationqa":
                continue
            n = metrics[versions[0]][group]["questions"]
            lines.append(f"| {s} | {split} | {n} | " + " | ".join(_fmt(metrics[v][group], key) for v in versions)
                         + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data" / "eval")
    parser.add_argument("--baseline-ref", default=DEFAULT_BASELINE_REF)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--limit", type=int, default=None, help="the first N questions of each set")
    parser.add_argument("--only", choices=VERSIONS, default=None, help="collect one version only")
    parser.add_argument("--medicationqa", type=Path, default=DEFAULT_MEDICATIONQA)
    parser.add_argument("--work", type=Path, default=None, help="where raw answers go (default: a temp folder)")
    parser.add_argument("--collect", action="store_true", help=argparse.SUPPRESS)  # the per-version subprocess
    parser.add_argument("--questions", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--catalog", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    data_dir = args.data_dir.resolve()
    if args.collect:
        return collect(args.questions, args.output, data_dir, args.catalog)

    questions = load_questions(args.medicationqa, args.limit)
    index = _ensure_index(data_dir, tolerate=args.only == "baseline")
    work = (args.work or Path(tempfile.mkdtemp(prefix="medevidence-focus-"))).resolve()
    work.mkdir(parents=True, exist_ok=True)
    qfile = work / "questions.jsonl"
    qfile.write_text("".join(json.dumps({"id": q.id, "question": q.question, "focus": q.focus}, ensure_ascii=False)
                             + "\n" for q in questions), encoding="utf-8")
    checkouts = {"baseline": baseline_checkout(args.baseline_ref), "current": ROOT}
    started = time.perf_counter()
    runs = {v: run_collect(v, checkouts[v], qfile, data_dir, work) for v in VERSIONS if args.only in (None, v)}
    catalogs = {v: r["catalog"] for v, r in runs.items() if r.get("catalog", {}).get("focus")}
    catalog_from = "current" if "current" in catalogs else next(iter(catalogs), None)
    if catalog_from is None:
        print("no version produced a focus catalog; see the logs in " + str(work), file=sys.stderr)
        return 1
    catalog = catalogs[catalog_from]["focus"]
    rows, metrics = score(questions, runs, catalog)
    differ = sorted(f for f in catalog if len(catalogs) == 2 and catalogs["baseline"]["focus"].get(f)
                    != catalogs["current"]["focus"].get(f))
    report: dict[str, Any] = {
        "meta": {"date": date.today().isoformat(), "machine": f"{platform.machine()}, {os.cpu_count()} cores",
                 "python": platform.python_version(), "baseline_ref": args.baseline_ref,
                 "baseline_commit": _git("rev-parse", f"{args.baseline_ref}^{{commit}}"),
                 "head": _git("rev-parse", "--short", "HEAD"), "dirty": bool(_git("status", "--porcelain", "app")),
                 "data_dir_name": data_dir.name, "index": {k: index.get(k) for k in ("index_name", "indexed_now")},
                 "limit": args.limit, "catalog_from": catalog_from, "total_seconds": 0.0,
                 "catalog_differs_between_versions": differ,
                 "labelled_drugs": catalogs[catalog_from].get("labelled_drugs"),
                 "graph_drugs": catalogs[catalog_from].get("drugs")},
        "runs": {v: {k: r[k] for k in ("seconds", "error") if k in r} for v, r in runs.items()},
        "focus_catalog": catalog_summary(questions, catalog),
        "metrics": metrics,
    }
    report["meta"]["total_seconds"] = round(time.perf_counter() - started, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "focus_answers.json").write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    (args.out / "focus_answers.md").write_text(render(report), encoding="utf-8")
    with (args.out / "focus_answers_questions.jsonl").open("w", encoding="utf-8") as fh:
        for line in listing(rows):
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")
    print(render(report))
    print(f"raw answers and logs: {work}", file=sys.stderr)
    return 1 if any("error" in r for r in runs.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
