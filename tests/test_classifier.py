"""The intent classifier: accuracy floors on held-out sets, calibration, persistence.

One model is trained per session on the grouped split without fold 0 (about 30 s on
two cores), so every accuracy below is on utterances the model has not seen. Nothing
is downloaded (tests/conftest.py blocks the network).
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest

from evals.routing.run import (
    HARD,
    HARD_BLIND,
    HARD_BLIND_V2,
    HARD_BLIND_V3,
    HARD_BLIND_V4,
    HARD_BLIND_V5,
    HARD_BLIND_V6,
    fit_on,
    grouped_split,
    read_jsonl,
    score,
)
from intents import classifier as clf
from intents.catalog import INTENTS, department_for
from intents.classifier import (
    DEFAULT_CSV,
    IntentClassifier,
    IntentPrediction,
    load_or_train,
    normalise,
)


@pytest.fixture(scope="module")
def split():
    return grouped_split(0)


@pytest.fixture(scope="module")
def model(split, tmp_path_factory) -> IntentClassifier:
    train_rows, _ = split
    trained = fit_on(train_rows, DEFAULT_CSV, seed=13)
    path = tmp_path_factory.mktemp("model") / "intent.joblib"
    trained.save(path)
    return IntentClassifier.load(path)


def test_grouped_split_holds_out_whole_phrasing_groups(split):
    train_rows, test_rows = split
    assert {r["group"] for r in train_rows}.isdisjoint({r["group"] for r in test_rows})
    assert {r["intent"] for r in test_rows} == set(INTENTS)
    assert len(test_rows) > 900


def test_grouped_heldout_accuracy(model, split):
    report = score(model, split[1])
    assert report["intent_acc"] >= 0.97, report["confusions"]
    assert report["department_acc"] >= 0.98, report["confusions"]


def test_colloquial_subset_of_grouped_heldout(model, split):
    rows = [r for r in split[1] if set(r["tags"]) & set("QWZ")]
    assert len(rows) > 300
    assert score(model, rows)["intent_acc"] >= 0.97


def test_hand_written_hard_set(model):
    report = score(model, read_jsonl(HARD))
    assert report["n"] >= 150
    assert report["intent_acc"] >= 0.96, report["confusions"]
    assert report["department_acc"] >= 0.98, report["confusions"]


def test_hand_written_blind_set(model):
    report = score(model, read_jsonl(HARD_BLIND))
    assert report["intent_acc"] >= 0.93, report["confusions"]
    assert report["department_acc"] >= 0.96, report["confusions"]


def test_hand_written_blind_set_v2(model):
    """Fragments, no punctuation, long rambling messages, heavy typos, rude, non-native."""
    report = score(model, read_jsonl(HARD_BLIND_V2))
    assert report["n"] >= 150
    assert report["intent_acc"] >= 0.95, report["confusions"]
    assert report["department_acc"] >= 0.97, report["confusions"]


@pytest.mark.parametrize(
    ("path", "n", "intent_floor", "department_floor"),
    [
        # by a second writer: Bitext-like, colloquial, offensive, typos, long or short
        (HARD_BLIND_V3, 324, 0.97, 0.98),
        # a third writer's realistic inbox, wording unlike Bitext on purpose: the hardest set
        (HARD_BLIND_V4, 270, 0.93, 0.97),
        # a fourth writer's, sealed until the -6 model was frozen (its honest score)
        (HARD_BLIND_V5, 270, 0.97, 0.98),
        # a fifth writer's (third session), colloquial, rude, typos and rambling; scored blind
        # by -6 at 96.6 % / 98.5 % before the part4 seeds, which its writer never saw
        (HARD_BLIND_V6, 324, 0.97, 0.98),
    ],
    ids=["v3", "v4", "v5", "v6"],
)
def test_blind_sets_of_the_later_sessions(model, path, n, intent_floor, department_floor):
    report = score(model, read_jsonl(path))
    assert report["n"] == n
    assert report["intent_acc"] >= intent_floor, report["confusions"]
    assert report["department_acc"] >= department_floor, report["confusions"]


@pytest.mark.parametrize(
    "text",
    ["can't sign in", "cant sign in", "I can't log in since yesterday", "can not login to my account"],
)
def test_log_in_trouble_goes_to_technical(model, text):
    # seen misrouted in the app: to check_refund_policy / billing
    assert model.predict(text).department == "technical"


@pytest.mark.parametrize("text", ["where is my order 11096?", "where is my order #11096", "wheres my order 11096"])
def test_where_is_my_order_with_number_is_confident_track_order(model, text):
    p = model.predict(text)
    assert p.intent == "track_order"
    assert p.confidence >= 0.8


def test_prediction_shape_and_department_map(model):
    for text in ["wtf where is my stuff", "cant login again ffs", "I want a refund of $20"]:
        p = model.predict(text)
        assert isinstance(p, IntentPrediction)
        assert p.intent in INTENTS
        assert p.department == department_for(p.intent)
        assert 0.0 <= p.confidence <= 1.0
        assert len(p.alternatives) == 3
        assert all(intent in INTENTS and intent != p.intent for intent, _ in p.alternatives)
        probs = [p.confidence, *(prob for _, prob in p.alternatives)]
        assert probs == sorted(probs, reverse=True)
        assert sum(probs) <= 1.0 + 1.5e-4  # the three alternatives are rounded to 4 decimals


@pytest.mark.parametrize("text", ["asdkjh qwe", "1234 5678", "?!?", "what is the weather like"])
def test_confidence_is_low_for_gibberish(model, text):
    assert model.predict(text).confidence < 0.3


def test_confidence_is_high_for_clear_requests(model):
    for text in ["i want to cancel my order", "reset my password", "talk to a human agent"]:
        assert model.predict(text).confidence > 0.8


def test_single_and_batch_paths_agree(model):
    texts = [r["text"] for r in read_jsonl(HARD)[:60]]
    batch = model.predict_many(texts)
    for text, b in zip(texts, batch, strict=True):
        one = model.predict(text)
        assert one.intent == b.intent
        assert one.confidence == pytest.approx(b.confidence, abs=1e-4)
    assert model.predict_many([]) == []


def test_save_load_round_trip(model, tmp_path):
    path = tmp_path / "m.joblib"
    model.save(path)
    again = IntentClassifier.load(path)
    texts = [r["text"] for r in read_jsonl(HARD)]
    assert again.predict_many(texts) == model.predict_many(texts)
    assert [again.predict(t) for t in texts[:20]] == [model.predict(t) for t in texts[:20]]


def test_load_or_train_trains_once_and_retrains_when_stale(model, tmp_path, monkeypatch):
    csv_copy = tmp_path / "data.csv"
    shutil.copyfile(DEFAULT_CSV, csv_copy)
    calls: list[Path] = []

    def fake_train(cls, csv_path, *, seed=13):
        calls.append(csv_path)
        trained = copy.copy(model)
        trained.meta = {**model.meta, "version": clf.CLASSIFIER_VERSION}
        trained.meta["csv_sha256"] = clf.file_digest(csv_path)
        trained.meta["seeds_sha256"] = clf.seeds_digest()
        trained.meta["sklearn"] = clf._sklearn_version()
        return trained

    monkeypatch.setattr(IntentClassifier, "train", classmethod(fake_train))
    path = tmp_path / "models" / "intent.joblib"
    load_or_train(path, csv_copy)
    assert path.exists() and len(calls) == 1
    load_or_train(path, csv_copy)
    assert len(calls) == 1  # fresh: loaded, not trained

    with csv_copy.open("a", encoding="utf-8") as fh:  # the data changed: stale
        fh.write("customer support,virtual assistant,cancel it,cancel_order,,,,,ORDER,B,ok\n")
    load_or_train(path, csv_copy)
    assert len(calls) == 2

    monkeypatch.setattr(clf, "CLASSIFIER_VERSION", "another-version")  # the code changed
    load_or_train(path, csv_copy)
    assert len(calls) == 3

    seed_dir = tmp_path / "seeds"  # the same seed files elsewhere: still fresh
    shutil.copytree(clf.SEED_DIR, seed_dir)
    monkeypatch.setattr(clf, "SEED_DIR", seed_dir)
    load_or_train(path, csv_copy)
    assert len(calls) == 3
    with (seed_dir / "extra.jsonl").open("w", encoding="utf-8") as fh:  # a seed added: stale
        fh.write('{"text": "scrap my order", "intent": "cancel_order"}\n')
    assert "scrap my order" in clf.read_seed_files(seed_dir)["cancel_order"]
    load_or_train(path, csv_copy)
    assert len(calls) == 4


def test_seed_files_with_unknown_intents_are_refused(tmp_path):
    (tmp_path / "bad.jsonl").write_text('{"text": "hi", "intent": "order_pizza"}\n')
    with pytest.raises(ValueError, match="bad.jsonl:1"):
        clf.read_seed_files(tmp_path)


def test_default_csv_is_found_relative_to_the_package():
    assert DEFAULT_CSV.is_file()
    assert DEFAULT_CSV.name == "bitext_customer_support_4514.csv"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("I want to cancel order {{Order Number}}", "i want to cancel order <num>"),
        ("cancel purchase 113542617735902!!", "cancel order <num>"),
        ("wtf where is my damn stuff", "where is my item"),
        ("u cant gimme a refund of $40??", "you can not give me a refund of <amount>"),
        ("I'd like a reimbursement", "i would like a refund"),
        ("close my Platinum account", "close my <tier> account"),
        ("{{Currency Symbol}}{{Refund Amount}} rebate", "<amount> refund"),
    ],
)
def test_normalise(raw, expected):
    assert normalise(raw) == expected


def test_spelling_correction_fixes_typos_but_keeps_real_words(model):
    assert normalise("i wnat to cancle my ordr", model.speller) == "i want to cancel my order"
    assert "dress" in normalise("can i return a dress", model.speller)


def test_the_routing_guards_leave_real_requests_to_act(model) -> None:
    """A question about an act reads instead of acting; a request for the act must keep it."""
    from evals.routing.run import HAND_SETS
    from nodes.guards.routing import reading_intent

    acting = ("cancel_order", "delete_account", "get_refund")
    texts, labels = clf.read_bitext(DEFAULT_CSV)
    demoted = [
        t
        for t, label in zip(texts, labels, strict=True)
        if label in acting and reading_intent(label, t, model.canonical) != label
    ]
    assert len(demoted) <= 2, demoted  # "I can't pay for purchase …" is filed under cancel_order
    for name, path in HAND_SETS.items():
        rows = [r for r in read_jsonl(path) if r["intent"] in acting]
        assert [
            r["text"] for r in rows if reading_intent(r["intent"], r["text"], model.canonical) != r["intent"]
        ] == [], name
    assert reading_intent("delete_account", "my account", model.canonical) == "edit_account"
    assert reading_intent("cancel_order", "what is the fee to cancel order 11197?") == "check_cancellation_fee"
    assert reading_intent("cancel_order", "why was my order cancelled?") == "track_order"
