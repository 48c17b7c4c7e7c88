"""The OpenAI-compatible LLM client against recorded vLLM responses replayed on loopback."""

from __future__ import annotations

import pytest

from app.answer.evidence import Evidence
from app.answer.generator import GenerationRequest, GeneratorError
from app.answer.llm import OpenAICompatibleGenerator
from app.config import Settings
from testkit.replay_server import ReplayServer

MESSAGES = [{"role": "system", "content": "rules"}, {"role": "user", "content": "evidence and question"}]


def _generator(url: str, **extra: object) -> OpenAICompatibleGenerator:
    return OpenAICompatibleGenerator(Settings(llm_url=url, llm_timeout_s=5.0, **extra))  # type: ignore[arg-type]


def _run(generator: OpenAICompatibleGenerator) -> tuple[str, str]:
    request = GenerationRequest("q", "en", list[Evidence](), MESSAGES)
    parts = list(generator.generate(request))
    return ("".join(p.text for p in parts if p.kind == "reasoning"),
            "".join(p.text for p in parts if p.kind == "answer"))


def test_reasoning_content_stream_is_kept_apart() -> None:
    with ReplayServer() as server:
        generator = _generator(server.url)
        reasoning, answer = _run(generator)
        assert generator.model_id() == "Qwen/QwQ-32B"  # from /v1/models when llm_model is unset
        sent = server.script.requests[-1]
    assert reasoning == ("The question asks for warfarin contraindications. Block [1] lists pregnancy; "
                         "block [2] says bleeding.")
    assert answer == ("Warfarin sodium is contraindicated in pregnancy [1]. Warfarin is contraindicated in patients "
                      "with active bleeding [2].")
    assert sent["stream"] is True and sent["messages"] == MESSAGES and sent["model"] == "Qwen/QwQ-32B"
    assert sent["temperature"] == 0.0


def test_inline_think_tags_cut_across_chunks() -> None:
    with ReplayServer() as server:
        server.script.stream = "stream_inline_think.sse"
        reasoning, answer = _run(_generator(server.url, llm_model="qwq"))
    assert reasoning == "The question asks for contraindications. Block [1] lists pregnancy."
    assert answer == "Warfarin sodium is contraindicated in pregnancy [1]."


def test_non_streamed_completion_drops_reasoning() -> None:
    with ReplayServer() as server:
        text = _generator(server.url).complete(MESSAGES, max_tokens=50)
    assert text == "What is the usual starting dose of warfarin?"


def test_overloaded_server_is_retried_then_answers() -> None:
    with ReplayServer() as server:
        server.script.fail_first = 1
        _, answer = _run(_generator(server.url, llm_model="qwq", llm_max_retries=2))
        chats = [r for r in server.script.requests if "messages" in r]
    assert answer.endswith("[2].") and len(chats) == 2


def test_failures_raise_generator_error() -> None:
    with ReplayServer() as server:
        server.script.fail_first = 5
        with pytest.raises(GeneratorError, match="503|overloaded|InternalServerError|APIStatusError"):
            _run(_generator(server.url, llm_model="qwq", llm_max_retries=1))
    with ReplayServer() as server:
        server.script.break_after = 4
        with pytest.raises(GeneratorError):
            _run(_generator(server.url, llm_model="qwq", llm_max_retries=0))
    with pytest.raises(GeneratorError):
        _run(_generator("http://127.0.0.1:9/v1", llm_max_retries=0))


def test_readiness_follows_the_server() -> None:
    with ReplayServer() as server:
        assert _generator(server.url).ready()
    assert not _generator("http://127.0.0.1:9/v1").ready()


def test_follow_up_is_rewritten_by_the_llm() -> None:
    from app.answer.conversation import rewrite_follow_up

    class NoEntities:
        def analyze(self, text: str) -> object:
            raise AssertionError("the LLM rewrite needs no entity linking")

    history = [{"question": "What are the contraindications of warfarin?", "answer": "Pregnancy [1].",
                "entities": [{"name": "warfarin"}]}]
    with ReplayServer() as server:
        rewrite = rewrite_follow_up("And the dose?", history, NoEntities(), _generator(server.url))  # type: ignore[arg-type]
        sent = server.script.requests[-1]
    assert rewrite.method == "llm" and rewrite.question == "What is the usual starting dose of warfarin?"
    assert "What are the contraindications of warfarin?" in sent["messages"][1]["content"]
    assert sent.get("stream") in (None, False)


# -- reasoning models: what the reasoning says never counts as the answer -----------------------------------------
def test_reasoning_that_cites_and_weighs_abstaining_stays_reasoning() -> None:
    with ReplayServer() as server:
        server.script.stream = "stream_reasoning_cites_and_abstain_word.sse"
        reasoning, answer = _run(_generator(server.url, llm_model="qwq"))
    assert "INSUFFICIENT_EVIDENCE" in reasoning and "[3]" in reasoning
    assert answer == "Warfarin sodium is contraindicated in pregnancy [1]."


def test_a_think_block_never_closed_is_all_reasoning() -> None:
    with ReplayServer() as server:
        server.script.stream = "stream_unclosed_think.sse"
        reasoning, answer = _run(_generator(server.url, llm_model="qwq"))
    assert answer == ""
    assert reasoning.startswith("The question asks") and "INSUFFICIENT_EVIDENCE" in reasoning and "[1]" in reasoning


def test_a_template_that_opened_think_is_followed() -> None:
    """The chat template opened <think> itself: the output starts inside the reasoning and only closes it."""
    with ReplayServer() as server:
        server.script.stream = "stream_implicit_think.sse"
        reasoning, answer = _run(_generator(server.url, llm_model="qwq", llm_reasoning_implicit_start=True))
    assert reasoning == "Block [2] mentions bleeding; INSUFFICIENT_EVIDENCE is not needed."
    assert answer.strip() == "Warfarin sodium is contraindicated in pregnancy [1]."
