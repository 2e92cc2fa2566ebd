"""Figure 3: microseconds per message of the intent classifier, one message at a time.

``core.resources.classifier(ctx).predict(text)`` (what the coordinator node calls) on the
customer messages of the Bitext sample in ``data/bitext`` (1,000 in ``--quick``, all 4,514
otherwise), each timed alone with ``perf_counter_ns``. The first pass sees every message once
(the spelling corrector's caches warm up as it goes); a second pass over the same messages is
reported as ``warm``.

``classifier_us_per_message_varied``: the same call on the longer, chattier messages of the
issue 16 routing sets (``evals/routing/varied_blind_v*.jsonl``: stories, e-mails, rambling
requests; their texts only, never their labels), median of each message's fastest of 5 calls
(the figure least disturbed by other work on shared cores) and the median of a first pass.
"""

from __future__ import annotations

import json
import random
import statistics
import time
from pathlib import Path

from benchmarks.common import bitext_utterances, classifier_path, emit, summary


def run(quick: bool) -> None:
    from core.context import Context

    ctx = Context(customer_id="C0007").with_(model="fake:facts", classifier_path=classifier_path())
    started = time.perf_counter()
    model = ctx.resources.classifier
    load_s = time.perf_counter() - started

    texts = bitext_utterances()
    random.Random(7).shuffle(texts)
    if quick:
        texts = texts[:1000]
    for text in ("hello", "where is my order 11096", "I want my money back!!"):
        model.predict(text)

    def one_pass() -> list[float]:
        out: list[float] = []
        for text in texts:
            t0 = time.perf_counter_ns()
            model.predict(text)
            out.append((time.perf_counter_ns() - t0) / 1000.0)
        return out

    cold = one_pass()
    warm = one_pass()
    emit(
        "classifier_us_per_message",
        round(statistics.median(cold), 1),
        "us",
        measure="median core.resources.classifier(ctx).predict, one message at a time, first pass",
        first_pass=summary(cold, 1),
        warm=summary(warm, 1),
        messages=len(texts),
        source="data/bitext instructions",
        load_s=round(load_s, 3),
        classifier=str(ctx.settings.resolved_classifier_path()),
    )

    varied: list[str] = []
    for path in sorted((Path(__file__).resolve().parents[1] / "evals" / "routing").glob("varied_blind_v*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            varied += [json.loads(line)["text"] for line in fh if line.strip()]
    if varied:
        first: list[float] = []
        best: list[float] = []
        for text in varied:
            runs = []
            for _ in range(5):
                t0 = time.perf_counter_ns()
                model.predict(text)
                runs.append((time.perf_counter_ns() - t0) / 1000.0)
            first.append(runs[0])
            best.append(min(runs))
        emit(
            "classifier_us_per_message_varied",
            round(statistics.median(best), 1),
            "us",
            measure="median over messages of the fastest of 5 predict calls, one message at a time",
            first_call=summary(first, 1),
            best_of_5=summary(best, 1),
            messages=len(varied),
            mean_chars=round(statistics.mean(len(t) for t in varied), 1),
            source="evals/routing/varied_blind_v*.jsonl texts",
        )
