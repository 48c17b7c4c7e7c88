"""A real HTTP server on loopback that replays recorded OpenAI-compatible (vLLM) responses."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .http_server import LoopbackServer, QuietHandler

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "vllm"


@dataclass
class Script:
    stream: str = "stream_reasoning_content.sse"
    completion: str = "completion_reasoning_content.json"
    fail_first: int = 0  # answer this many chat requests with 503 first
    break_after: int | None = None  # close the stream after this many events, without [DONE]
    requests: list[dict[str, Any]] = field(default_factory=list)


class ReplayServer(LoopbackServer):
    def __init__(self) -> None:
        self.script = Script()
        script_ref = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server naming
                if self.path.rstrip("/") == "/v1/models":
                    self._send(200, (FIXTURES / "models.json").read_bytes(), "application/json")
                else:
                    self._send(404, b'{"error": "not found"}', "application/json")

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
                script = script_ref.script
                script.requests.append(body)
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send(404, b'{"error": "not found"}', "application/json")
                    return
                if script.fail_first > 0:
                    script.fail_first -= 1
                    self._send(503, b'{"error": {"message": "overloaded"}}', "application/json")
                    return
                if not body.get("stream"):
                    self._send(200, (FIXTURES / script.completion).read_bytes(), "application/json")
                    return
                events = (FIXTURES / script.stream).read_text(encoding="utf-8").split("\n\n")
                events = [e + "\n\n" for e in events if e.strip()]
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                if script.break_after is not None:
                    events = events[: script.break_after]
                    self.send_header("content-length", str(sum(len(e.encode()) for e in events) + 1000))
                else:
                    self.send_header("connection", "close")
                self.end_headers()
                for event in events:
                    self.wfile.write(event.encode("utf-8"))
                    self.wfile.flush()
                self.close_connection = True

            def _send(self, status: int, payload: bytes, ctype: str) -> None:
                self.send_response(status)
                self.send_header("content-type", ctype)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        super().__init__(Handler)

    @property
    def url(self) -> str:
        return f"{self.base}/v1"
