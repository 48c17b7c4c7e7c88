"""For the reranker tests: the fused hits the recorded vLLM rerank answers score, a real HTTP server on loopback
that replays those answers (tests/fixtures/vllm/rerank_*.json), and a tiny random cross-encoder folder built
offline (nothing downloaded)."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.model import Chunk
from app.retrieval.fusion import FusedHit
from testkit.http_server import LoopbackServer, QuietHandler, free_port

FIXTURES = Path(__file__).parent / "fixtures" / "vllm"
QUERY = "Is warfarin safe in pregnancy?"
RERANK_PATHS = ("/v1/rerank", "/rerank", "/v2/rerank")  # what vLLM serves

# (doc_id, title, section, text): the first four are the documents of the recorded answers, in that order.
PASSAGES = [
    ("aspirin-label", "Aspirin Tablets", "Dosage and Administration",
     "The usual adult dose for pain or fever is 325 to 650 mg every 4 hours as needed."),
    ("warfarin-label", "Warfarin Sodium Tablets", "Contraindications",
     "Warfarin sodium is contraindicated in pregnancy except in pregnant women with mechanical heart valves."),
    ("warfarin-label", "Warfarin Sodium Tablets", "Warnings and Precautions",
     "Warfarin sodium can cause major or fatal bleeding."),
    ("vte-pregnancy", "Anticoagulation in Pregnancy", "Recommendations",
     "For pregnant women who need anticoagulation, low-molecular-weight heparin is preferred over warfarin."),
    ("metformin-label", "Metformin Hydrochloride Tablets", "Contraindications",
     "Metformin is contraindicated in severe renal impairment."),
    ("heparin-label", "Heparin Sodium Injection", "Use in Specific Populations",
     "Heparin does not cross the placenta."),
]
RECORDED_ORDER = [1, 3, 2, 0]  # rerank_bge_v2_m3.json, highest score first


def hits() -> list[FusedHit]:
    """Six fused hits, fused score falling; a new list of new hits on every call."""
    out = []
    for i, (doc_id, title, section, text) in enumerate(PASSAGES):
        chunk = Chunk(doc_id=doc_id, version="v1", ordinal=i, section=section, start=0, end=len(text), text=text,
                      title=title, source_type="label")
        out.append(FusedHit(chunk, 0.05 - i * 0.001))
    return out


def recorded(name: str = "rerank_bge_v2_m3.json") -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return loaded


def tiny_cross_encoder(folder: Path) -> Path:
    """A sentence-transformers-loadable cross-encoder with random weights (one BERT layer, 16 wide) and a word-level
    vocabulary of the test passages, saved to ``folder``: built with transformers, nothing downloaded."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    texts = [QUERY, *(" ".join(p[1:]) for p in PASSAGES)]
    words = sorted({w for text in texts for w in re.findall(r"\w+", text.lower())})
    folder.mkdir(parents=True, exist_ok=True)
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]) + "\n", encoding="utf-8")
    tokenizer = BertTokenizer(vocab_file=str(vocab))
    config = BertConfig(vocab_size=len(words) + 5, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=128)
    config.num_labels = 1  # one relevance logit, as rerankers have
    torch.manual_seed(7)
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


closed_port = free_port  # a loopback port nothing listens on


@dataclass
class Script:
    fixture: str = "rerank_bge_v2_m3.json"
    body: bytes | None = None  # served instead of the fixture
    status: int = 200
    delay_s: float = 0.0  # wait this long before answering
    requests: list[dict[str, Any]] = field(default_factory=list)  # {"path", "headers", "body"} of each POST


class RerankReplayServer(LoopbackServer):
    def __init__(self) -> None:
        self.script = Script()
        self.stopping = threading.Event()
        server = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                raw = self.rfile.read(int(self.headers.get("content-length", 0)))
                script = server.script
                script.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                        "body": json.loads(raw or b"{}")})
                if self.path not in RERANK_PATHS:
                    self._send(404, b'{"detail":"Not Found"}')
                    return
                if script.delay_s and server.stopping.wait(script.delay_s):
                    return  # shutting down: the client gave up long ago
                payload = script.body if script.body is not None else (FIXTURES / script.fixture).read_bytes()
                self._send(script.status, payload)

            def _send(self, status: int, payload: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and hung up

        super().__init__(Handler, poll_interval=0.05)

    @property
    def url(self) -> str:
        """The base URL, as MEDEVIDENCE_RERANKER_URL is written."""
        return self.base

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        super().__exit__(*exc)
