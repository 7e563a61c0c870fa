"""LLM providers: scripted (file and rules), local transformers model from a directory, provider errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from genesis_agents.infrastructure.llm import (
    LocalChatModel,
    UsageTracker,
    is_rate_limit_error,
    resolve_llm,
    with_rate_limit_retry,
)

from genesis_agents import ConfigError, LimitExceededError, ScriptedChatModel


def test_scripted_from_file_with_rules_and_exhaustion(tmp_path: Path) -> None:
    script = tmp_path / "replies.json"
    script.write_text(json.dumps({"replies": ["first", "second"],
                                  "rules": [{"match": "weather", "reply": "sunny"}]}))
    llm = resolve_llm(f"scripted:{script}")
    assert isinstance(llm, ScriptedChatModel)
    assert llm.invoke("what's the weather?").content == "sunny"
    assert [llm.invoke("a").content, llm.invoke("b").content] == ["first", "second"]
    with pytest.raises(LimitExceededError):
        llm.invoke("c")


def test_bad_llm_specs_are_config_errors(tmp_path: Path) -> None:
    assert resolve_llm(None) is None and resolve_llm("none") is None
    with pytest.raises(ConfigError) as no_colon:
        resolve_llm("gpt4")
    assert no_colon.value.field == "llm"
    with pytest.raises(ConfigError):
        resolve_llm(f"scripted:{tmp_path / 'missing.json'}")
    (tmp_path / "broken.json").write_text("[1, 2,")
    with pytest.raises(ConfigError) as broken:
        resolve_llm(f"scripted:{tmp_path / 'broken.json'}")
    assert "invalid JSON" in str(broken.value)
    with pytest.raises(ConfigError):
        resolve_llm(f"local:{tmp_path / 'no-model-here'}")


async def test_rate_limit_errors_retry_and_others_do_not() -> None:
    class RateLimitError(Exception):
        status_code = 429

    calls = {"n": 0}

    class Flaky:
        async def ainvoke(self, messages, config=None, **kw):  # type: ignore[no-untyped-def]
            calls["n"] += 1
            if calls["n"] < 3:
                raise RateLimitError("slow down")
            return "ok"

    wrapped = with_rate_limit_retry(Flaky(), attempts=4, base_delay=0.001)
    assert await wrapped.ainvoke("hi") == "ok" and calls["n"] == 3
    assert is_rate_limit_error(RateLimitError()) and not is_rate_limit_error(ValueError())

    class Broken:
        async def ainvoke(self, messages, config=None, **kw):  # type: ignore[no-untyped-def]
            raise ValueError("bad request")

    with pytest.raises(ValueError):
        await with_rate_limit_retry(Broken(), base_delay=0.001).ainvoke("x")


def test_usage_tracker_counts_tokens() -> None:
    tracker = UsageTracker()
    llm = ScriptedChatModel(replies=["three word reply"]).with_config(callbacks=[tracker])
    llm.invoke("count these tokens please")
    assert tracker.usage.llm_calls == 1
    assert tracker.usage.prompt_tokens == 4 and tracker.usage.completion_tokens == 3


def _tiny_model(path: Path) -> None:
    """Build a tiny GPT-2 with a word-level tokenizer and a chat template, entirely offline."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    words = ["<pad>", "<eos>", "<unk>", "user", "assistant", ":", "hello", "world", "sales", "rose"]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>", unk_token="<unk>")
    fast.chat_template = ("{% for m in messages %}{{ m['role'] }} : {{ m['content'] }} {% endfor %}"
                          "{% if add_generation_prompt %}assistant : {% endif %}")
    fast.save_pretrained(str(path))
    import torch

    torch.manual_seed(0)  # random weights, but the same ones every run
    config = GPT2Config(vocab_size=len(words), n_positions=64, n_embd=16, n_layer=1, n_head=2,
                        bos_token_id=1, eos_token_id=1, pad_token_id=0)
    GPT2LMHeadModel(config).save_pretrained(str(path))


def test_local_model_generates_with_its_chat_template(tmp_path: Path) -> None:
    _tiny_model(tmp_path / "tiny")
    llm = resolve_llm(f"local:{tmp_path / 'tiny'}")
    assert isinstance(llm, LocalChatModel)
    llm.max_new_tokens = 5
    reply = llm.invoke("hello world")
    words = reply.content.split()
    assert len(words) <= 5
    assert set(words) <= {"<pad>", "<unk>", "user", "assistant", ":", "hello", "world", "sales", "rose"}
    assert reply.usage_metadata["input_tokens"] > 2 and 1 <= reply.usage_metadata["output_tokens"] <= 5
