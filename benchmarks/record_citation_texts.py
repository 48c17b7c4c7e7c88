"""Record what a real instruction model writes when asked to cite in each of the ways models do, for the citation
parsing corpus of the tests (``tests/fixtures/citations/real_model_texts.json``):

    python -m benchmarks.record_citation_texts [--data-dir data/eval] [--out FILE]

Each case is a question, the evidence the service retrieves for it, and the project's prompt with its citation
rule (rule 1) replaced by one placement style (before the sentence, after the full stop, per clause, in a list,
``【n】``, ``(n)``, ``[Source n]``, ``^n``…).  The model is the benchmark's Qwen2.5-Coder-1.5B-Instruct
(``benchmarks/llm_model.py``) on llama.cpp, temperature 0.  The output is recorded as written; which claim each
citation belongs to is then judged by hand and written into the fixture beside it (``expected``), and the test
checks the parser against that judgement.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import openai

from app.answer.evidence import number_evidence
from app.answer.prompt import SYSTEM, answer_messages
from app.compose import open_searcher
from app.config import Settings
from app.retrieval.search import Searcher
from app.runtime import Runtime
from benchmarks.llm_model import MODEL_ALIAS, joined_model

ROOT = Path(__file__).resolve().parent.parent
RULE_1 = SYSTEM.split("\n")[2]  # "1. Every sentence … ends with the number(s) …"

STYLES: dict[str, str] = {
    "default": "",
    "before": "1. Put the number of the supporting block in brackets BEFORE each sentence, like: [1] First fact. "
              "[2] Second fact.",
    "after_stop": "1. Write each sentence with its full stop, then its citation after the stop, like: First fact. [1] "
                  "Second fact. [2]",
    "combined": "1. End every sentence with the blocks that support it; several blocks go in one bracket, like "
                "[1, 2].",
    "adjacent": "1. End every sentence with the blocks that support it, each in its own bracket, like [1][2].",
    "parentheses": "1. End every sentence with the number of the supporting block in parentheses, like (1).",
    "source": "1. End every sentence with its source, written like [Source 1].",
    "caret": "1. Mark every sentence's source as a caret number after the sentence, like: First fact.^1",
    "list": "1. Answer as a bulleted list (\"- \"), one fact per item, each item ending with its citation like [1].",
    "numbered": "1. Answer as a numbered list (1., 2., …), one fact per item, each item ending with its citation "
                "like [1].",
    "clause": "1. When a sentence joins facts from different blocks, cite each clause right after it, like: X raises "
              "Y [1], while Z lowers W [2].",
    "lenticular": "1. 每句话后面用【n】标出支持它的证据块，例如：……风险增加【1】。",
    "zh_after_stop": "1. 每句话写完句号后再写引用，例如：第一个事实。[1] 第二个事实。[2]",
    "zh_before": "1. 在每句话前面用方括号写出支持它的证据块编号，例如：[1] 第一个事实。[2] 第二个事实。",
}

CASES: list[tuple[str, str]] = [
    ("default", "Does taking aspirin with warfarin increase the risk of bleeding?"),
    ("before", "Does taking aspirin with warfarin increase the risk of bleeding?"),
    ("after_stop", "What are the contraindications of metformin?"),
    ("combined", "What are the side effects of atorvastatin?"),
    ("adjacent", "How should lithium levels be monitored?"),
    ("parentheses", "What are the warnings for ibuprofen?"),
    ("source", "What are the contraindications of warfarin?"),
    ("caret", "Can clopidogrel be taken with omeprazole?"),
    ("list", "What are the side effects of atorvastatin?"),
    ("numbered", "What are the contraindications of metformin?"),
    ("clause", "Does amiodarone interact with warfarin?"),
    ("before", "What is the starting dose of metformin?"),
    ("default", "华法林和阿司匹林合用有什么风险？"),
    ("lenticular", "阿托伐他汀的不良反应有哪些？"),
    ("zh_after_stop", "二甲双胍的禁忌症是什么？"),
    ("zh_before", "华法林和阿司匹林合用有什么风险？"),
]


def messages_for(style: str, question: str, searcher: Searcher) -> tuple[list[dict[str, str]], list[str]]:
    result = searcher.search(question, 6)
    grounding = searcher.ground(result, 6)
    evidence = number_evidence(grounding.hits)
    messages = answer_messages(question, evidence, result.query.language, grounding.focus)
    if STYLES[style]:
        messages[0]["content"] = messages[0]["content"].replace(RULE_1, STYLES[style])
    return messages, [f"[{ev.n}] {ev.chunk.title} | {ev.chunk.section}" for ev in evidence]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data" / "eval")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "citation_texts.json")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    from testkit.llama_server import llama_server

    settings = Settings(data_dir=args.data_dir)
    records: list[dict[str, Any]] = []
    log = Path(tempfile.gettempdir()) / "medevidence-qwen-server.log"
    with Runtime.open(settings) as rt, llama_server(log, joined_model(), MODEL_ALIAS, args.threads, 8192) as url:
        searcher = open_searcher(rt)
        client = openai.OpenAI(base_url=url, api_key="not-needed", timeout=900)
        for style, question in CASES:
            messages, blocks = messages_for(style, question, searcher)
            response = client.chat.completions.create(model=MODEL_ALIAS, messages=messages,  # type: ignore[arg-type]
                                                      temperature=0.0, max_tokens=260)
            text = response.choices[0].message.content or ""
            records.append({"style": style, "instruction": STYLES[style] or RULE_1, "question": question,
                            "evidence": blocks, "text": text})
            print(json.dumps(records[-1], ensure_ascii=False), file=sys.stderr)
            args.out.write_text(json.dumps({"model": MODEL_ALIAS, "recorded": date.today().isoformat(),
                                            "cases": records}, ensure_ascii=False, indent=1), encoding="utf-8")
        searcher.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
