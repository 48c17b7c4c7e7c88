"""The LLM generator: any OpenAI-compatible server (vLLM in production, llama.cpp in tests).

Streams with the openai SDK.  Reasoning arrives as vLLM's ``reasoning_content`` (or ``reasoning``)
delta field when a reasoning parser is on, or inline as ``<think>…</think>``; both become
``reasoning`` events and never answer text.  Timeouts: ``llm_timeout_s`` for the first token and
between tokens, ``llm_total_timeout_s`` for the whole answer; connection errors, 429 and 5xx are
retried ``llm_max_retries`` times by the SDK before ``GeneratorError``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any, Literal, cast

import openai
from openai import Stream
from openai.types.chat import ChatCompletionChunk, ChatCompletionStreamOptionsParam

from app.answer.generator import GenerationEvent, GenerationRequest, GeneratorError
from app.answer.think import ThinkSplitter, split_reasoning
from app.config import Settings

REASONING_FIELDS = ("reasoning_content", "reasoning")


def delta_reasoning(delta: Any) -> str:
    """The reasoning text a streamed delta carries in a separate field (vLLM), if any."""
    extra = getattr(delta, "model_extra", None) or {}
    for name in REASONING_FIELDS:
        value = getattr(delta, name, None) if name not in extra else extra[name]
        if isinstance(value, str) and value:
            return value
    return ""


class OpenAICompatibleGenerator:
    mode: Literal["llm", "extractive"] = "llm"

    def __init__(self, settings: Settings, client: openai.OpenAI | None = None) -> None:
        if not settings.llm_url:
            raise ValueError("llm_url is not set")
        self.settings = settings
        self._client = client or openai.OpenAI(
            base_url=settings.llm_url,
            api_key=settings.llm_api_key or "not-needed",
            timeout=settings.llm_timeout_s,
            max_retries=settings.llm_max_retries,
        )
        self._model: str | None = settings.llm_model
        self._lock = threading.Lock()

    def model_id(self) -> str:
        with self._lock:
            if self._model is None:
                try:
                    models = list(self._client.models.list())
                except openai.OpenAIError as exc:
                    raise GeneratorError(f"LLM server {self.settings.llm_url} unreachable: {exc}") from exc
                if not models:
                    raise GeneratorError(f"LLM server {self.settings.llm_url} serves no model")
                self._model = models[0].id
            return self._model

    def ready(self) -> bool:
        try:
            self._client.with_options(max_retries=0, timeout=5.0).models.list()
        except openai.OpenAIError:
            return False
        return True

    def generate(self, request: GenerationRequest) -> Iterator[GenerationEvent]:
        model = self.model_id()
        splitter = ThinkSplitter(self.settings.llm_reasoning_implicit_start)
        deadline = time.monotonic() + self.settings.llm_total_timeout_s
        # Whether any chunk carried a choice: a 200 without one (an HTML page, a bare [DONE]) is no
        # answer at all, not the model's empty one.
        completion = False
        try:
            stream = cast(Stream[ChatCompletionChunk], self._client.chat.completions.create(
                model=model,
                messages=request.messages,  # type: ignore[arg-type]
                stream=True,
                temperature=self.settings.llm_temperature,
                max_tokens=self.settings.llm_max_tokens,
                stream_options=ChatCompletionStreamOptionsParam(include_usage=True),
            ))
            with stream:
                for chunk in stream:
                    if time.monotonic() > deadline:
                        raise GeneratorError(f"LLM answer exceeded {self.settings.llm_total_timeout_s:.0f} s")
                    if chunk.usage is not None:
                        yield GenerationEvent("usage", "", usage={
                            "prompt_tokens": chunk.usage.prompt_tokens,
                            "completion_tokens": chunk.usage.completion_tokens})
                    if not chunk.choices:
                        continue
                    completion = True
                    delta = chunk.choices[0].delta
                    reasoning = delta_reasoning(delta)
                    if reasoning:
                        yield GenerationEvent("reasoning", reasoning)
                    if delta.content:
                        for kind, text in splitter.feed(delta.content):
                            yield GenerationEvent(kind, text)  # type: ignore[arg-type]
            if not completion:
                raise GeneratorError("LLM response held no completion chunk (not an OpenAI-compatible stream)")
        except openai.OpenAIError as exc:
            raise GeneratorError(f"LLM request failed: {type(exc).__name__}: {exc}") from exc
        except GeneratorError:
            raise
        except Exception as exc:  # noqa: BLE001 - a broken stream (transport, decoding) means: fall back
            raise GeneratorError(f"LLM stream broke: {type(exc).__name__}: {exc}") from exc
        for kind, text in splitter.finish():
            yield GenerationEvent(kind, text)  # type: ignore[arg-type]

    def complete(self, messages: list[dict[str, str]], max_tokens: int) -> str:
        try:
            response = self._client.chat.completions.create(
                model=self.model_id(),
                messages=messages,  # type: ignore[arg-type]
                temperature=0.0,
                max_tokens=max_tokens,
            )
        except openai.OpenAIError as exc:
            raise GeneratorError(f"LLM request failed: {type(exc).__name__}: {exc}") from exc
        content = response.choices[0].message.content if response.choices else None
        _, answer = split_reasoning(content or "", self.settings.llm_reasoning_implicit_start)
        return answer.strip()

    def close(self) -> None:
        self._client.close()
