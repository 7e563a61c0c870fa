"""LLM providers. All optional: the default is no LLM, and every stage works without one.

``resolve_llm(spec)`` understands:
- ``None`` / ``""`` / ``"none"``: no LLM;
- ``scripted:FILE`` (JSON list of replies, or ``{"replies": [...], "rules": [{"match": REGEX, "reply": ...}]}``):
  a deterministic chat model for tests and evaluation runs;
- ``local:DIR``: a transformers causal LM from a directory, real generation with its chat template;
- ``provider:model`` (e.g. ``openai:gpt-4o-mini``): any LangChain chat model through ``init_chat_model`` when
  its integration package is installed.

Token usage and cost are accounted per run by ``UsageTracker`` (a LangChain callback), and rate-limit
errors are retried with exponential backoff by ``with_rate_limit_retry``.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult, LLMResult
from pydantic import ConfigDict, Field, PrivateAttr

from .contracts import Usage
from .errors import BackendUnavailableError, ConfigError, LimitExceededError


def _approx_tokens(text: str) -> int:
    """Whitespace/punctuation token estimate, used only where a model does not report usage."""
    return max(1, len(re.findall(r"\w+|[^\w\s]", text)))


def _messages_text(messages: Sequence[BaseMessage]) -> str:
    return "\n".join(m.content if isinstance(m.content, str) else json.dumps(m.content) for m in messages)


class ScriptedChatModel(BaseChatModel):
    """Replays scripted replies: a deterministic stand-in for a paid LLM in tests and eval runs.

    Replies are consumed in order. ``rules`` (regex on the last user message -> reply) are checked first,
    so a script can answer by content rather than by position. When the script runs out it raises
    ``LimitExceededError`` (or cycles, with ``cycle=True``) — never invents text.
    """

    replies: list[str] = Field(default_factory=list)
    rules: list[dict[str, str]] = Field(default_factory=list)
    cycle: bool = False
    cost_per_1k_tokens: float = 0.0

    model_config = ConfigDict(arbitrary_types_allowed=True)
    _position: int = PrivateAttr(default=0)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _calls: list[str] = PrivateAttr(default_factory=list)

    @classmethod
    def from_file(cls, path: str | Path) -> ScriptedChatModel:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"scripted replies file not found: {p}", field="llm")
        try:
            raw = json.loads(p.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{p}:{exc.lineno}: invalid JSON ({exc.msg})", field="llm") from None
        if isinstance(raw, list):
            return cls(replies=[str(r) for r in raw])
        if isinstance(raw, dict):
            return cls(**raw)
        raise ConfigError(f"{p}: expected a JSON list of replies or an object with 'replies'", field="llm")

    @property
    def _llm_type(self) -> str:
        return "scripted"

    @property
    def calls(self) -> list[str]:
        """The prompts this model received (for assertions in tests)."""
        return list(self._calls)

    def _next_reply(self, prompt: str) -> str:
        with self._lock:
            self._calls.append(prompt)
            last = prompt.rsplit("\n", 1)[-1] if prompt else ""
            for rule in self.rules:
                if re.search(rule["match"], prompt, flags=re.IGNORECASE | re.DOTALL) or re.search(rule["match"], last, re.IGNORECASE):
                    return rule["reply"]
            if self._position >= len(self.replies):
                if self.cycle and self.replies:
                    self._position = 0
                else:
                    raise LimitExceededError(
                        f"scripted model ran out of replies after {len(self.replies)}", limit="scripted_replies",
                        value=self._position + 1, maximum=len(self.replies), hint="add replies to the script",
                    )
            reply = self.replies[self._position]
            self._position += 1
            return reply

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        prompt = _messages_text(messages)
        reply = self._next_reply(prompt)
        p_tok, c_tok = _approx_tokens(prompt), _approx_tokens(reply)
        usage = {"input_tokens": p_tok, "output_tokens": c_tok, "total_tokens": p_tok + c_tok}
        msg = AIMessage(content=reply, usage_metadata=usage)  # type: ignore[arg-type]
        return ChatResult(generations=[ChatGeneration(message=msg)], llm_output={"token_usage": usage})


class LocalChatModel(BaseChatModel):
    """A transformers causal LM loaded from a local directory (never downloaded), with its chat template."""

    model_dir: str
    max_new_tokens: int = 256
    temperature: float = 0.0

    model_config = ConfigDict(arbitrary_types_allowed=True)
    _tok: Any = PrivateAttr(default=None)
    _model: Any = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "local-transformers"

    def _load(self) -> None:
        if self._model is not None:
            return
        path = Path(self.model_dir)
        if not (path / "config.json").exists():
            raise BackendUnavailableError("local LLM", "no config.json in the model directory", url=str(path))
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self._tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        self._model = AutoModelForCausalLM.from_pretrained(str(path), local_files_only=True).eval()

    def _prompt_ids(self, messages: list[BaseMessage]) -> Any:
        role = {"human": "user", "ai": "assistant", "system": "system"}
        chat = [{"role": role.get(m.type, "user"), "content": str(m.content)} for m in messages]
        if getattr(self._tok, "chat_template", None):
            return self._tok.apply_chat_template(chat, add_generation_prompt=True, return_tensors="pt",
                                                 return_dict=True)
        text = "\n".join(f"{c['role']}: {c['content']}" for c in chat) + "\nassistant:"
        return self._tok(text, return_tensors="pt")

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        import torch

        with self._lock:
            self._load()
            enc = self._prompt_ids(messages)
            input_ids = enc["input_ids"]
            gen_kwargs: dict[str, Any] = {"max_new_tokens": self.max_new_tokens,
                                          "pad_token_id": self._tok.pad_token_id or self._tok.eos_token_id}
            if self.temperature > 0:
                gen_kwargs.update(do_sample=True, temperature=self.temperature)
            else:
                gen_kwargs.update(do_sample=False)
            with torch.inference_mode():
                out = self._model.generate(**enc, **gen_kwargs)
            new = out[0, input_ids.shape[1]:]
            text = self._tok.decode(new, skip_special_tokens=True)
        for s in stop or []:
            text = text.split(s)[0]
        usage = {"input_tokens": int(input_ids.shape[1]), "output_tokens": int(new.shape[0]),
                 "total_tokens": int(input_ids.shape[1] + new.shape[0])}
        msg = AIMessage(content=text, usage_metadata=usage)  # type: ignore[arg-type]
        return ChatResult(generations=[ChatGeneration(message=msg)], llm_output={"token_usage": usage})


def resolve_llm(spec: str | BaseChatModel | None) -> BaseChatModel | None:
    """Turn a configuration string into a chat model (or None). Errors name the setting and the fix."""
    if spec is None or isinstance(spec, BaseChatModel):
        return spec
    spec = spec.strip()
    if not spec or spec.lower() == "none":
        return None
    provider, sep, rest = spec.partition(":")
    if not sep or not rest:
        raise ConfigError(f"expected 'provider:model', got {spec!r}", field="llm",
                          hint="e.g. scripted:replies.json, local:/models/tiny, openai:gpt-4o-mini")
    if provider == "scripted":
        return ScriptedChatModel.from_file(rest)
    if provider == "local":
        if not Path(rest).is_dir():
            raise ConfigError(f"local model directory not found: {rest}", field="llm")
        return LocalChatModel(model_dir=rest)
    try:
        from langchain.chat_models import init_chat_model  # type: ignore[import-not-found]
    except ImportError:
        raise ConfigError(
            f"LLM provider {provider!r} needs the 'langchain' package and its integration package",
            field="llm", hint=f"pip install langchain langchain-{provider}",
        ) from None
    try:
        return init_chat_model(rest, model_provider=provider)  # type: ignore[no-any-return]
    except (ImportError, ValueError) as exc:
        raise ConfigError(f"cannot create chat model {spec!r}: {exc}", field="llm") from None


# ----------------------------------------------------------------------------------------- accounting

PRICES_PER_1K: dict[str, tuple[float, float]] = {}
"""Optional (prompt, completion) USD prices per 1k tokens by model name; unknown models cost 0."""


class UsageTracker(BaseCallbackHandler):
    """Adds up token usage of every LLM call made with it as a callback (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.usage = Usage()

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        prompt = completion = 0
        model = ""
        for gens in response.generations:
            for gen in gens:
                message = getattr(gen, "message", None)
                meta = getattr(message, "usage_metadata", None) or {}
                prompt += int(meta.get("input_tokens", 0))
                completion += int(meta.get("output_tokens", 0))
                if message is not None:
                    model = message.response_metadata.get("model_name") or model
        if not prompt and not completion and response.llm_output:
            tu = response.llm_output.get("token_usage") or {}
            prompt = int(tu.get("prompt_tokens", tu.get("input_tokens", 0)))
            completion = int(tu.get("completion_tokens", tu.get("output_tokens", 0)))
        p_price, c_price = PRICES_PER_1K.get(model, (0.0, 0.0))
        cost = prompt / 1000 * p_price + completion / 1000 * c_price
        with self._lock:
            self.usage = self.usage + Usage(prompt_tokens=prompt, completion_tokens=completion, llm_calls=1,
                                            cost_usd=cost)


def is_rate_limit_error(exc: BaseException) -> bool:
    """Recognise provider rate-limit errors without importing provider SDKs."""
    name = type(exc).__name__.lower()
    status = getattr(exc, "status_code", None) or getattr(getattr(exc, "response", None), "status_code", None)
    return "ratelimit" in name or "rate_limit" in name or status == 429


def with_rate_limit_retry(llm: Any, *, attempts: int = 4, base_delay: float = 0.5) -> RateLimitRetry:
    """Wrap a chat model so rate-limit errors retry with exponential backoff (other errors surface)."""
    return RateLimitRetry(llm, attempts, base_delay)


class RateLimitRetry:
    """Retries only rate-limit errors (other errors surface at once), with exponential backoff."""

    def __init__(self, llm: Any, attempts: int, base_delay: float = 0.5) -> None:
        self.llm = llm
        self.attempts = attempts
        self.base_delay = base_delay

    async def ainvoke(self, messages: Any, config: Any = None, **kw: Any) -> Any:
        for attempt in range(self.attempts):
            try:
                return await self.llm.ainvoke(messages, config=config, **kw)
            except Exception as exc:
                if not is_rate_limit_error(exc) or attempt == self.attempts - 1:
                    raise
                await asyncio.sleep(self.base_delay * 2**attempt)
        raise AssertionError("unreachable")

    def invoke(self, messages: Any, config: Any = None, **kw: Any) -> Any:
        import time

        for attempt in range(self.attempts):
            try:
                return self.llm.invoke(messages, config=config, **kw)
            except Exception as exc:
                if not is_rate_limit_error(exc) or attempt == self.attempts - 1:
                    raise
                time.sleep(self.base_delay * 2**attempt)
        raise AssertionError("unreachable")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.llm, name)
