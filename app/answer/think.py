"""Keep a reasoning model's thinking apart from its answer, while streaming.

Reasoning arrives either in its own field (vLLM's ``reasoning_content`` with a reasoning parser) or
inline as ``<think>…</think>``.  ``ThinkSplitter`` takes text pieces as they stream (a tag may be cut
between pieces) and returns ``("reasoning" | "answer", text)`` parts; reasoning never reaches the answer.
"""

from __future__ import annotations

OPEN, CLOSE = "<think>", "</think>"


def _held_back(buffer: str, tag: str) -> int:
    """Length of the longest tail of ``buffer`` that could start ``tag``."""
    for size in range(min(len(tag) - 1, len(buffer)), 0, -1):
        if tag.startswith(buffer[-size:]):
            return size
    return 0


class ThinkSplitter:
    def __init__(self, implicit_open: bool = False) -> None:
        """``implicit_open``: the chat template already opened ``<think>`` (output starts as reasoning)."""
        self.in_reasoning = implicit_open
        self._buffer = ""

    def feed(self, text: str) -> list[tuple[str, str]]:
        self._buffer += text
        parts: list[tuple[str, str]] = []
        while True:
            tag = CLOSE if self.in_reasoning else OPEN
            kind = "reasoning" if self.in_reasoning else "answer"
            at = self._buffer.find(tag)
            stray = -1 if self.in_reasoning else self._buffer.find(CLOSE)
            if stray != -1 and (at == -1 or stray < at):  # a closing tag never opened: drop the tag
                self._emit(parts, kind, self._buffer[:stray])
                self._buffer = self._buffer[stray + len(CLOSE) :]
                continue
            if at == -1:
                keep = max(_held_back(self._buffer, tag), 0 if self.in_reasoning else _held_back(self._buffer, CLOSE))
                self._emit(parts, kind, self._buffer[: len(self._buffer) - keep])
                self._buffer = self._buffer[len(self._buffer) - keep :]
                return parts
            self._emit(parts, kind, self._buffer[:at])
            self._buffer = self._buffer[at + len(tag) :]
            self.in_reasoning = not self.in_reasoning

    def finish(self) -> list[tuple[str, str]]:
        parts: list[tuple[str, str]] = []
        self._emit(parts, "reasoning" if self.in_reasoning else "answer", self._buffer)
        self._buffer = ""
        return parts

    @staticmethod
    def _emit(parts: list[tuple[str, str]], kind: str, text: str) -> None:
        if text:
            parts.append((kind, text))


def split_reasoning(raw: str, implicit_open: bool = False) -> tuple[str, str]:
    """(reasoning, answer) of a whole output."""
    splitter = ThinkSplitter(implicit_open)
    parts = splitter.feed(raw) + splitter.finish()
    reasoning = "".join(t for k, t in parts if k == "reasoning")
    answer = "".join(t for k, t in parts if k == "answer")
    return reasoning, answer
