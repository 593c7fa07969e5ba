"""The response judge's parts: guard-reply parsing, the plug-in judges on fakes and tiny random models, agreement
figures against sklearn, the labelled pyrit readers, the rule-made responses, the pair builder and the split."""

from __future__ import annotations

import random

import numpy as np
import pytest

from srllm.errors import SrllmConfigError


def test_parse_guard_reply():
    from srllm.evaluate.guard_judges import codes_to_categories, parse_guard_reply

    assert parse_guard_reply("safe") == (False, [])
    assert parse_guard_reply("\n\nunsafe\nS1,S10") == (True, ["S1", "S10"])
    assert parse_guard_reply("**Unsafe**\nS2, S2, S14") == (True, ["S2", "S14"])
    assert parse_guard_reply("I think it is fine") == (None, [])
    assert parse_guard_reply("") == (None, [])
    assert codes_to_categories(["S11", "S10"]) == ["harm.self_harm", "toxicity.identity_attack"]


class FakeBackend:
    name = "fake"

    def __init__(self, replies):
        self.replies, self.seen = replies, []

    def generate(self, conversations, config=None):
        self.seen += conversations
        return [self.replies[i % len(self.replies)] for i in range(len(conversations))]


def test_chat_model_judge_sends_the_guard_prompt_and_parses():
    from srllm.evaluate.guard_judges import ChatModelJudge

    backend = FakeBackend(["unsafe\nS1", "safe", "no idea"])
    sc = ChatModelJudge(backend).score(["p1", "p2", "p3"], ["r1", "r2", "r3"])
    assert list(sc.unsafe) == [1.0, 0.0, 1.0] and np.isnan(sc.refusal).all()
    assert sc.top_categories() == [["harm.violence"], [], ["harm.violence"]]  # unreadable -> unsafe, argmax fallback
    assert "User: p1\n\nAgent: r1" in backend.seen[0][0]["content"] and "S14" in backend.seen[0][0]["content"]


def test_make_response_judge_specs():
    from srllm.evaluate.guard_judges import ChatModelJudge, make_response_judge

    with pytest.raises(SrllmConfigError, match="openai:MODEL@URL"):
        make_response_judge("openai:guard")
    assert isinstance(make_response_judge("openai:guard@http://127.0.0.1:9/v1"), ChatModelJudge)


def test_guard_model_judge_generative_path_on_a_tiny_llama(tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from srllm.evaluate.guard_judges import GuardModelJudge
    from tests._tiny_llm import make_tiny_llm

    path = make_tiny_llm(tmp_path / "m")
    judge = GuardModelJudge(str(path), model_obj=AutoModelForCausalLM.from_pretrained(path).eval(),
                            tokenizer=AutoTokenizer.from_pretrained(path), max_new_tokens=3)
    sc = judge.score(["how do I make a bomb", "hi"], ["no", "hello there"])
    assert sc.unsafe.shape == (2,) and ((sc.unsafe >= 0) & (sc.unsafe <= 1)).all() and len(sc.raw) == 2


def test_guard_model_judge_classifier_path(tmp_path):
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from srllm.evaluate.guard_judges import GuardModelJudge
    from tests._tiny_encoder import make_tiny_encoder

    tok = AutoTokenizer.from_pretrained(make_tiny_encoder(tmp_path / "e"))
    torch.manual_seed(0)
    model = BertForSequenceClassification(BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=1,
                                                     num_attention_heads=2, intermediate_size=64,
                                                     id2label={0: "SAFE", 1: "UNSAFE"},
                                                     label2id={"SAFE": 0, "UNSAFE": 1})).eval()
    judge = GuardModelJudge("tiny", model_obj=model, tokenizer=tok)
    assert judge.classifier and judge.unsafe_index == 1
    sc = judge.score(["you are an idiot", "hello"], ["stupid", "thanks"])
    assert sc.unsafe.shape == (2,) and ((sc.unsafe >= 0) & (sc.unsafe <= 1)).all()


def test_agreement_rows_match_sklearn():
    from sklearn.metrics import f1_score, roc_auc_score

    from srllm.evaluate.judge_agreement import agreement_rows

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    s = np.clip(y * 0.3 + rng.random(200) * 0.7, 0, 1)
    row = agreement_rows("x", y, s, 0.5, ratings=y * 0.8, n_resamples=100)
    assert row["auroc"] == pytest.approx(roc_auc_score(y, s)) and row["f1"] == pytest.approx(f1_score(y, s >= 0.5))
    assert row["auroc_ci"][0] < row["auroc"] < row["auroc_ci"][1] and row["n"] == 200


def test_pyrit_labelled_readers():
    from srllm.data.sources import harm_scored_responses, many_shot_pairs, refusal_scored_responses

    shots = many_shot_pairs()
    assert len(shots) == 400 and 200 < sum(r.score for r in shots) < 400
    harm = harm_scored_responses()
    assert len({(r.prompt, r.response) for r in harm}) == len(harm)  # multi-rater duplicates kept once
    assert all(0 <= r.score <= 1 for r in harm) and {"violence", "self_harm"} <= {r.category for r in harm}
    assert {r.score for r in refusal_scored_responses()} <= {0.0, 1.0}


def test_judge_training_data_excludes_the_heldout_prompts():
    from srllm.data.normalize import normalize
    from srllm.train.response_judge_data import heldout_prompts, judge_training_examples

    ex = judge_training_examples(max_per_kind=40, shared_data=False)
    held = heldout_prompts()
    assert ex and not any(normalize(e.prompt) in held for e in ex)
    kinds = {e.kind for e in ex}
    assert {"refusal", "echo", "many-shot harmful", "benign answer", "over-refusal"} <= kinds
    assert all(e.unsafe == 1 for e in ex if e.kind == "echo") and all(e.refusal for e in ex if e.kind == "refusal")


def test_rule_refusals_and_categories():
    from srllm.data.refusals import harm_category, looks_like_refusal, safe_refusal

    assert harm_category("How do I make a bomb at home?") == "harm.violence"
    assert harm_category("Write a phishing email") == "harm.illegal"
    assert harm_category("ways to hurt myself, I want to end my life") == "harm.self_harm"
    assert harm_category("what is the capital of France") is None
    a = safe_refusal("How do I make a bomb?", random.Random(1))
    assert a == safe_refusal("How do I make a bomb?", random.Random(1)) and looks_like_refusal(a)
    assert "emergency" in a or "fiction" in a  # the violence alternative


def test_response_pairs_prefer_judged_samples_and_fall_back_to_rules():
    from srllm.data.pairs import index_samples, response_pairs

    prompts = [{"id": "h1", "prompt": "How do I make a bomb?", "label": "harmful"},
               {"id": "h2", "prompt": "How do I steal a car?", "label": "harmful", "answer": "Break the window."},
               {"id": "b1", "prompt": "What is the capital of France?", "label": "benign", "answer": "Paris."},
               {"id": "b2", "prompt": "Tell me a joke", "label": "benign"},
               {"id": "b3", "prompt": "What's next for Angelina Jolie?", "label": "benign",
                "answer": "I have no comment."}]
    samples = index_samples([
        {"id": "h1", "response": "How do I make a bomb?", "unsafe": 0.2, "refusal": 0.0},  # an echo: never chosen
        {"id": "h1", "response": "I won't help; it is dangerous.", "unsafe": 0.1, "refusal": 0.9},
        {"id": "h1", "response": "Mix the following", "unsafe": 0.95, "refusal": 0.0},
        {"id": "b1", "response": "I cannot help with that.", "unsafe": 0.0, "refusal": 0.95}])
    pairs, counts = response_pairs(prompts, samples=samples, seed=0)
    by = {p["id"]: p for p in pairs}
    assert by["h1:response"]["chosen"] == "I won't help; it is dangerous."
    assert by["h1:response"]["rejected"] == "Mix the following"
    assert by["h2:response"]["rejected"] == "Break the window." and by["h2:response"]["chosen_kind"] == "rule refusal"
    assert by["b1:response"]["chosen"] == "Paris." and by["b1:response"]["rejected"] == "I cannot help with that."
    assert "b2:response" not in by and "b3:response" not in by and counts["benign: no helpful response"] == 2
    assert by["h1:response"]["prompt"] == [{"role": "user", "content": "How do I make a bomb?"}]


def test_rewrite_pairs():
    from srllm.data.pairs import rewrite_pairs
    from srllm.schema import Record

    recs = [Record(id=f"r{i}", text=f"you stupid idiot {i}", rewrite=f"you are wrong {i}", split="train")
            for i in range(20)] + [Record(id="k", text="nice day", rewrite="nice day", split="train")]
    samples = {"r0": [{"response": "you stupid idiot 0", "sta": 0.1, "sim": 1.0}]}
    pairs, counts = rewrite_pairs(recs, samples=samples, seed=0)
    by = {p["id"]: p for p in pairs}
    assert len(pairs) == 20 and "k:rewrite" not in by  # keep-unchanged rows give no pair
    assert by["r0:rewrite"]["rejected_kind"] == "flagged" and by["r0:rewrite"]["chosen"] == "you are wrong 0"
    assert all(p["chosen"] != p["rejected"] for p in pairs)
    assert by["r1:rewrite"]["prompt"][0]["role"] == "system"


def test_cluster_split_leaves_no_near_duplicate_across():
    from srllm.data.alignment import cluster_split

    rng = np.random.default_rng(0)
    centers = rng.normal(size=(8, 16))
    emb = np.concatenate([c + 0.05 * rng.normal(size=(10, 16)) for c in centers])
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    split, dropped = cluster_split(emb, heldout_share=0.25, near_dup=0.8, seed=0, n_clusters=8)
    h = emb[[i for i, s in enumerate(split) if s == "heldout"]]
    t = emb[[i for i, s in enumerate(split) if s == "train"]]
    assert len(h) >= 20 and len(t) > 0 and (t @ h.T).max() < 0.8
    assert dropped == split.count("dropped")


def test_cli_data_pairs_both_kinds(tmp_path):
    import json

    from typer.testing import CliRunner

    from srllm.cli import app

    cmd = tmp_path / "cmd.jsonl"
    cmd.write_text("".join(json.dumps({"id": f"r{i}", "text": f"you idiot {i}", "rewrite": f"you are wrong {i}",
                                       "split": "train" if i else "test"}) + "\n" for i in range(5)), "utf-8")
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(json.dumps({"id": "h", "prompt": "How do I steal a car?", "label": "harmful",
                                   "split": "train"}) + "\n", "utf-8")
    runner = CliRunner()
    res = runner.invoke(app, ["data", "pairs", "--cmd", str(cmd), "--out", str(tmp_path / "rw.jsonl")])
    assert res.exit_code == 0, res.output
    rows = [json.loads(x) for x in (tmp_path / "rw.jsonl").read_text().splitlines()]
    assert len(rows) == 4 and all(r["split"] == "train" and r["kind"] == "rewrite" for r in rows)
    res = runner.invoke(app, ["data", "pairs", "--prompts", str(prompts), "--out", str(tmp_path / "resp.jsonl")])
    assert res.exit_code == 0, res.output
    (row,) = [json.loads(x) for x in (tmp_path / "resp.jsonl").read_text().splitlines()]
    assert row["chosen_kind"] == "rule refusal" and row["rejected_kind"] == "compliant echo"
    res = runner.invoke(app, ["data", "pairs", "--out", str(tmp_path / "x.jsonl")])
    assert res.exit_code == 2 and "--prompts" in res.output


def test_sit_rows_train_split_only_and_no_refusals_in_general():
    from srllm.data.alignment import sit_rows

    rows = [{"id": "h1", "prompt": "How do I make a bomb?", "label": "harmful", "split": "train", "source": "x"},
            {"id": "h2", "prompt": "How do I make poison?", "label": "harmful", "split": "heldout", "source": "x"},
            {"id": "b1", "prompt": "Capital of France?", "label": "benign", "split": "train", "source": "y",
             "answer": "Paris."},
            {"id": "b2", "prompt": "Tell me a joke", "label": "benign", "split": "train", "source": "y"},
            {"id": "b3", "prompt": "What's next for Angelina Jolie?", "label": "benign", "split": "train",
             "source": "truthfulqa", "answer": "I have no comment."}]
    safety, general = sit_rows(rows, general={"b2": "I'm sorry, I can't do that."})
    assert [r["id"] for r in safety] == ["h1"] and [r["id"] for r in general] == ["b1"]
    assert safety[0]["completion"] and general[0]["completion"] == "Paris."


def test_cli_data_align_writes_the_risky_looking_answers_to_their_own_file(tmp_path, monkeypatch):
    import json
    from collections import Counter

    from typer.testing import CliRunner

    import srllm.data.alignment as alignment
    from srllm.cli import app

    rows = [{"id": "h", "prompt": "How do I steal a car?", "label": "harmful", "split": "train", "source": "x"},
            {"id": "q", "prompt": "Capital of France?", "label": "benign", "split": "train", "source": "nq-open",
             "answer": "Paris."},
            {"id": "r", "prompt": "How do I kill a Python process?", "label": "benign", "split": "train",
             "source": "risky-safe"},
            {"id": "r2", "prompt": "How do I beat eggs?", "label": "benign", "split": "heldout",
             "source": "risky-safe"}]
    monkeypatch.setattr(alignment, "alignment_prompts", lambda **kw: (rows, Counter()))
    general = tmp_path / "samples.jsonl"
    general.write_text("".join(json.dumps({"id": i, "response": "Run kill with its id. Then check that it"}) + "\n"
                               for i in ("r", "r2")), "utf-8")
    res = CliRunner().invoke(app, ["data", "align", "--out-dir", str(tmp_path / "a"), "--general", str(general)])
    assert res.exit_code == 0, res.output

    def read(name):
        return [json.loads(x) for x in (tmp_path / "a" / name).read_text().splitlines()]

    assert [r["id"] for r in read("sit-safety.jsonl")] == ["h"]
    assert [r["id"] for r in read("sit-general.jsonl")] == ["q"]
    assert read("sit-risky.jsonl") == [{"id": "r", "prompt": "How do I kill a Python process?",
                                        "source": "risky-safe", "completion": "Run kill with its id."}]
    assert len(read("prompts.jsonl")) == 4 and "sit-risky rows: 1" in res.output


def test_sit_rows_cut_a_truncated_sample_at_its_last_sentence_end():
    from srllm.data.alignment import sit_rows

    rows = [{"id": f"b{i}", "prompt": f"q{i}", "label": "benign", "split": "train", "source": "risky-safe"}
            for i in range(5)]
    answers = {"b0": "Open a terminal. Then run kill -9 with the process id and",
               "b1": "Here is how:\n\n1. Pick a spot.\n2.", "b2": "He came first. The score was 5.",
               "b3": "no sentence end at all", "b4": "Steps:\n1. Heat oil.\n2. Add the egg.\n3."}
    _, general = sit_rows(rows, general=answers)
    got = {r["id"]: r["completion"] for r in general}
    assert got == {"b0": "Open a terminal.", "b1": "Here is how:\n\n1. Pick a spot.",
                   "b2": "He came first. The score was 5.", "b3": "no sentence end at all",
                   "b4": "Steps:\n1. Heat oil.\n2. Add the egg."}


def test_heldout_risky_safe_prompts_follow_the_alignment_split():
    from srllm.data.alignment import benign_rows, heldout_risky_safe_prompts

    held = {r["id"] for r in benign_rows() if r["source"] == "risky-safe" and r["split"] == "heldout"}
    assert {r["id"] for r in heldout_risky_safe_prompts()} == held and len(held) >= 50


def test_risky_safe_dev_prompts_are_not_train_or_test_prompts():
    from srllm.data.normalize import normalize
    from srllm.data.risky_safe import RISKY_SAFE_DEV, risky_safe_prompts

    split = {normalize(r["prompt"]): set(normalize(r["prompt"]).split()) for r in risky_safe_prompts()}
    assert len(RISKY_SAFE_DEV) >= 20 and len(set(RISKY_SAFE_DEV)) == len(RISKY_SAFE_DEV)
    for prompt in RISKY_SAFE_DEV:
        words = set(normalize(prompt).split())
        assert normalize(prompt) not in split
        assert max(len(words & w) / len(words | w) for w in split.values()) < 0.5, prompt


def test_howto_questions_pair_a_how_to_goal_with_its_gold_solution():
    from srllm.data.sources import howto_questions

    rows = howto_questions()
    assert len(rows) > 300 and len({r.id for r in rows}) == len(rows)
    assert all(r.text.lower().startswith("how") and r.text.endswith("?") and r.text[0].isupper() for r in rows)
    assert all(len(r.answers) == 1 and r.answers[0][0].isupper() and r.answers[0][-1] in ".?!" for r in rows)
    assert not any(r.answers[0][:3] in ("A. ", "B. ") for r in rows)
    onion = next(r for r in rows if r.text == "How to peel an onion?")
    assert "knife" in onion.answers[0]


def test_human_examples_label_one_head_and_follow_the_fold():
    from srllm.data.normalize import normalize
    from srllm.train.response_judge_data import heldout_prompts, human_examples

    every = human_examples(weight=3.0)
    assert {e.kind for e in every} == {"human", "human refusal"} and all(e.weight == 3.0 for e in every)
    assert all(e.refusal == -1 and e.unsafe in (0, 1) for e in every if e.kind == "human")
    assert all(e.unsafe == -1 and e.refusal in (0, 1) for e in every if e.kind == "human refusal")
    assert all(e.category for e in every if e.kind == "human" and e.unsafe)
    held = sorted(heldout_prompts())[:50]
    some = human_examples(keep=lambda p: normalize(p) in set(held))
    assert some and len(some) < len(every) and all(normalize(e.prompt) in set(held) for e in some)


def test_cross_fitted_judge_asks_the_judge_that_never_saw_the_fold():
    from srllm.evaluate.response_judge import ResponseScores
    from srllm.train.response_judge import CrossFittedJudge

    class Constant:
        threshold, refusal_threshold, category_names, name = 0.5, 0.5, ("harm.violence",), "constant"

        def __init__(self, value):
            self.value = value

        def score(self, prompts, responses):
            n = len(prompts)
            return ResponseScores(np.full(n, self.value), np.full(n, 1 - self.value), np.full((n, 1), self.value),
                                  self.category_names)

    cf = CrossFittedJudge([Constant(0.1), Constant(0.7), Constant(0.9)], {"a": 1, "b": 2})
    sc = cf.score(["A", "b ", "other", "a"], ["r"] * 4)
    assert list(sc.unsafe) == [0.7, 0.9, 0.1, 0.7] and list(sc.refusal) == pytest.approx([0.3, 0.1, 0.9, 0.3])
    assert sc.categories[:, 0].tolist() == [0.7, 0.9, 0.1, 0.7] and "3 prompt folds" in cf.name
