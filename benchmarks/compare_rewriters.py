"""Rewriting: the trained SR adapter vs prompting the same base model, and vs returning the input unchanged.

    .venv/bin/python benchmarks/compare_rewriters.py [--data runs/cmd.jsonl] [--adapter default]
        [--paradetox-n 300] [--neutral-n 128] [--counterfactual-n 150] [--cache runs/compare] [--no-record]
        [--split test|dev]

--split dev scores the dev split instead (ParaDetox dev pairs, their neutral rewrites, the SR_LLM train_500 rows in
dev), for choosing between adapters without looking at the test split; it prints and saves results-dev-*.json only.

Systems: (a) identity (the input returned unchanged), (b) the embedded SmolLM2-135M-Instruct prompted zero-shot
(srllm.rewrite.prompts.build_messages), (c) the same few-shot (FEW_SHOT_EXAMPLES), (d) the same with the trained
adapter (zero-shot prompt, as at inference), (e) `srllm check` with that adapter: the shipped pipeline (detector
gate: a text it finds safe is returned unchanged; adapter rewrite; re-check; strict retry; span-edit fallback; 4
sampled rewrites as a last resort; its STA judge is also its gate, so its STA is favourable by construction), and,
for scale, the first human reference scored by the same judges. Generation: TransformersBackend, greedy, batches of
16; every LLM output goes through srllm.rewrite.clean.clean_rewrite (as in `srllm check`: words the output keeps
from the input keep the input's casing and tokenisation). Generations are cached in --cache
(re-running regenerates nothing).

Sets (from the CMD file of `srllm data build`): the 53 texts of infer_50.csv (its one human rewrite as reference);
a seeded sample of the ParaDetox test split (all human rewrites as references); for over-correction, the neutral
ParaDetox rewrites in the test split and a seeded sample of the `Original` sentences of counterfactual-inhouse.csv.
Metrics (srllm.evaluate.metrics, definitions in the shared docs/metrics.md): STA = 1 - the detector's decision
(srllm.detect.Detector, its declared per-category thresholds and the taxonomy's terms; --judge-policy
configs/policy-heads-only.yaml scores with the heads alone); SIM = cosine of all-MiniLM-L6-v2 embeddings of
input and output (0 for an empty output); FL = perplexity under the embedded SmolLM2 of the output's
orthographic form (srllm.evaluate.lm_scoring.orthographic_form) at or below FL_PPL_THRESHOLD; J = mean of
STA_i*SIM_i*FL_i; BLEU = sacrebleu corpus BLEU, multi-reference. Each value has a 95% bootstrap CI over items
(1000 resamples, seed 0 as in srllm.evaluate.stats).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import random
import shlex
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine_note, markdown_table, update_section  # noqa: E402

from srllm.data import read_counterfactual, read_jsonl, shared_data_dir  # noqa: E402
from srllm.evaluate import metrics as M  # noqa: E402
from srllm.evaluate.gen_cache import GenerationCache, cache_key, cached_generate  # noqa: E402
from srllm.evaluate.stats import paired_bootstrap  # noqa: E402
from srllm.models import GenerationConfig, adapter_fingerprint  # noqa: E402
from srllm.rewrite.clean import clean_rewrite  # noqa: E402
from srllm.rewrite.prompts import FEW_SHOT_EXAMPLES, build_messages  # noqa: E402

SYSTEMS = ("identity", "zero-shot", "few-shot", "adapter", "srllm check")
MAX_NEW = {"infer_50": 200, "sr-llm dev": 200}  # paragraphs; every other set holds ParaDetox-length sentences: 64


def load_sets(data: Path, paradetox_n: int, neutral_n: int, cf_n: int, seed: int,
              split: str = "test") -> dict[str, dict]:
    rows = [r for r in read_jsonl(data) if r.get("split") == split]
    if not rows:
        raise SystemExit(f"{data} has no {split} split; build it with `srllm data build --out {data}`")
    rng = random.Random(seed)

    def sample(items, n):
        return items if n <= 0 or len(items) <= n else sorted(rng.sample(items, n), key=lambda r: r["id"])

    srllm_source = "sr-llm/infer_50" if split == "test" else "sr-llm/train_500"
    infer = [r for r in rows if r.get("source") == srllm_source]
    pd = sample([r for r in rows if r.get("source") == "paradetox"], paradetox_n)
    neutral = sample([r for r in rows if r.get("source") == "paradetox/neutral"], neutral_n)
    sets = {
        ("infer_50" if split == "test" else f"sr-llm {split}"): {
            "texts": [r["text"] for r in infer], "refs": [[r["rewrite"]] for r in infer]},
        f"paradetox-{split}": {"texts": [r["text"] for r in pd],
                               "refs": [[r["rewrite"], *r.get("alternatives", [])] for r in pd]},
        f"neutral (ParaDetox {split})": {"texts": [r["text"] for r in neutral], "refs": None},
    }
    shared = shared_data_dir()
    if shared is not None and cf_n != 0 and split == "test":
        cf = [r.original.strip() for r in read_counterfactual(shared / "sr-llm" / "counterfactual-inhouse.csv")]
        cf = sorted(set(cf))
        sets["neutral (counterfactual)"] = {"texts": cf if len(cf) <= cf_n else sorted(rng.sample(cf, cf_n)),
                                            "refs": None}
    return sets


def generate(sets: dict, adapter: str | None, cache_dir: Path, batch_size: int,
             systems: tuple[str, ...] = SYSTEMS[1:], check_config=None) -> tuple[dict, dict]:
    from srllm.models import TransformersBackend

    outputs: dict[str, dict[str, list[str]]] = {name: {"identity": list(s["texts"])} for name, s in sets.items()}
    for name, s in sets.items():
        if s["refs"] is not None:
            outputs[name]["human reference"] = [refs[0] for refs in s["refs"]]
    timing: dict[str, float] = {}
    backends = {}
    for system in systems:
        if system == "srllm check":
            t0 = time.perf_counter()
            for name, s in sets.items():
                outputs[name][system] = pipeline_outputs(s["texts"], adapter, cache_dir, batch_size, check_config)
            timing[system] = time.perf_counter() - t0
            continue
        name_in_cache = _cache_name(system, adapter)
        cache = GenerationCache(cache_dir / f"gen-{name_in_cache}.jsonl")
        t0, n = time.perf_counter(), 0
        for name, s in sets.items():
            few = FEW_SHOT_EXAMPLES if system == "few-shot" else None
            convs = [build_messages(t, few_shot=few) for t in s["texts"]]
            cfg = GenerationConfig(max_new_tokens=MAX_NEW.get(name, 64), batch_size=batch_size)
            if system not in backends and any(cache.get(k) is None for k in _keys(name_in_cache, convs, cfg)):
                backends[system] = TransformersBackend(adapter=adapter if system == "adapter" else None)
            raw = cached_generate(backends.get(system), convs, cfg, cache, system=name_in_cache, desc=name)
            outputs[name][system] = [clean_rewrite(o, source=t) for o, t in zip(raw, s["texts"], strict=True)]
            n += len(convs)
        timing[system] = time.perf_counter() - t0
    return outputs, timing


def pipeline_outputs(texts: list[str], adapter: str, cache_dir: Path, batch_size: int,
                     config=None) -> list[str]:
    """`output` of srllm.Guard.check (the shipped pipeline: detector gate, adapter rewrite, re-check, strict retry,
    span-edit fallback, sampled rewrites as a last resort), cached per text like the generations, under a name tied
    to the adapter's weights, the rewrite options, the code of srllm.rewrite and srllm.detect (the gate and the
    re-check) and the default taxonomy."""
    import srllm.detect as detect_pkg
    import srllm.rewrite as rewrite_pkg
    import srllm.taxonomy as taxonomy_pkg
    from srllm.guard import Guard
    from srllm.rewrite import RewriteConfig

    config = dataclasses.replace(config or RewriteConfig(), batch_size=batch_size)
    options = {k: v for k, v in dataclasses.asdict(config).items() if k != "batch_size"}
    # The pipeline's code (and the taxonomy's group words and terms) is part of the key: a changed rewrite policy
    # or detector must not be served old outputs. (The detector's shipped heads are not: they have not changed.)
    code = b"".join(f.read_bytes() for pkg in (rewrite_pkg, detect_pkg)
                    for f in sorted(Path(pkg.__file__).parent.glob("*.py")))
    code += (Path(taxonomy_pkg.__file__).parent / "default.yaml").read_bytes()
    digest = hashlib.sha256(json.dumps(options, sort_keys=True).encode() + code).hexdigest()[:8]
    name = _cache_name("adapter", adapter).replace("adapter", "check", 1) + f"-{digest}"
    cache = GenerationCache(cache_dir / f"gen-{name}.jsonl")
    keys = [cache_key(name, [{"role": "user", "content": t}], GenerationConfig()) for t in texts]
    todo = [i for i, k in enumerate(keys) if cache.get(k) is None]
    if todo:
        guard = Guard(adapter=adapter, rewrite_config=config)
        for start in range(0, len(todo), 64):
            idx = todo[start:start + 64]
            results = guard.check([texts[i] for i in idx], spans=True)
            cache.put_many([(keys[i], r.output) for i, r in zip(idx, results, strict=True)])
    return [cache.get(k) for k in keys]


def _keys(system, convs, cfg):
    return [cache_key(system, c, cfg) for c in convs]


def ci(res: M.MetricResult, scale: float = 1.0, digits: int = 3) -> str:
    return f"{res.value * scale:.{digits}f} [{res.ci_low * scale:.{digits}f}, {res.ci_high * scale:.{digits}f}]"


def score(sets: dict, outputs: dict, judge_policy: Path | None = None) -> tuple[list[dict], list[dict], dict]:
    from srllm.detect import Detector
    from srllm.evaluate.judges import SafetyJudge
    from srllm.evaluate.lm_scoring import fl_scorer

    judge, ppl = SafetyJudge(Detector(policy=judge_policy) if judge_policy else None), fl_scorer()
    rows, neutral_rows, per_item = [], [], {}
    for name, s in sets.items():
        texts = s["texts"]
        for system in [*SYSTEMS, "human reference"]:
            if system not in outputs[name]:
                continue
            outs = outputs[name][system]
            if s["refs"] is None:
                oc = M.summarize("over_correction", M.over_correction(texts, outs))
                ow = M.summarize("over_correction_words", M.over_correction_words(texts, outs))
                neutral_rows.append({"set": name, "system": system, "n": oc.n, "over-correction": ci(oc),
                                     "other words (case/punctuation ignored)": ci(ow)})
                continue
            empty = np.array([not o.strip() for o in outs])
            sta_i = 1.0 - judge.is_unsafe(outs).astype(float)
            sim_i = np.where(empty, 0.0, M.sim(texts, [o or "." for o in outs]))
            fl_i = M.fl(perplexities=ppl([o for o in outs]))
            j_i = M.j_items(sta_i, sim_i, fl_i)
            bleu_of = M.corpus_metric_of_indices("bleu", outs, s["refs"])
            per_item[(name, system)] = {"j": j_i, "bleu_of": bleu_of}
            res = {k: M.summarize(k, v) for k, v in (("sta", sta_i), ("sim", sim_i), ("fl", fl_i), ("j", j_i))}
            res["bleu"] = M.summarize_corpus("bleu", bleu_of, len(outs))
            rows.append({"set": name, "system": system, "n": len(outs), "STA": ci(res["sta"]),
                         "SIM": ci(res["sim"]), "FL": ci(res["fl"]), "J": ci(res["j"]),
                         "BLEU": ci(res["bleu"], digits=1), "empty": int(empty.sum()),
                         "_values": {k: v.to_dict() for k, v in res.items()}})
    return rows, neutral_rows, per_item


def paired(sets: dict, per_item: dict) -> list[dict]:
    out = []
    for name, s in sets.items():
        if s["refs"] is None:
            continue
        for system in ("adapter", "srllm check"):
            for base in ("identity", "zero-shot", "few-shot"):
                if (name, system) not in per_item or (name, base) not in per_item:
                    continue
                a, b = per_item[(name, base)], per_item[(name, system)]
                pj = paired_bootstrap(a["j"], b["j"])
                pb = paired_bootstrap(statistic_a=a["bleu_of"], statistic_b=b["bleu_of"], n=len(s["texts"]))
                out.append({"set": name, "system": system, "minus": base,
                            "ΔJ": f"{pj.delta:+.3f} [{pj.ci_low:+.3f}, {pj.ci_high:+.3f}]",
                            "p (J)": f"{pj.p_value:.3g}",
                            "ΔBLEU": f"{pb.delta:+.1f} [{pb.ci_low:+.1f}, {pb.ci_high:+.1f}]",
                            "p (BLEU)": f"{pb.p_value:.3g}"})
    return out


def _doc_for_record() -> str:
    """The module doc without its usage paragraphs: what a recorded section says about systems, sets and metrics."""
    return "\n\n".join(p for p in __doc__.split("\n\n")[2:] if not p.startswith("--split")).strip()


def _adapter_path(spec: str) -> str:
    from srllm.models import default_adapter_dir

    adapter = str(default_adapter_dir()) if spec == "default" else spec
    if adapter in ("None", "") or not Path(adapter, "adapter_config.json").is_file():
        raise SystemExit(f"no adapter at {adapter!r}: train one (configs/sft-smollm2-lora.yaml) or pass --adapter")
    return adapter


def _cache_name(system: str, adapter: str | None) -> str:
    """The generation-cache name of a system; the adapter's is tied to its weights, so a retrained adapter is
    never served stale outputs."""
    return f"adapter-{adapter_fingerprint(adapter)}" if system == "adapter" else system


def main() -> None:
    global SYSTEMS
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=Path("runs/cmd.jsonl"))
    ap.add_argument("--adapter", default="default", help="'default' (the shipped adapter) or a folder")
    ap.add_argument("--paradetox-n", type=int, default=300)
    ap.add_argument("--neutral-n", type=int, default=128)
    ap.add_argument("--counterfactual-n", type=int, default=150)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache", type=Path, default=Path("runs/compare"))
    ap.add_argument("--no-record", action="store_true", help="do not write docs/benchmarks.md")
    ap.add_argument("--judge-policy", type=Path, default=None,
                    help="policy file of the STA judge's detector (e.g. configs/policy-heads-only.yaml); the gate of "
                         "`srllm check` keeps the default. Implies --no-record")
    ap.add_argument("--retry-samples", type=int, default=None,
                    help="RewriteConfig.retry_samples of the `srllm check` system (default: the shipped default)")
    ap.add_argument("--systems", default=",".join(SYSTEMS),
                    help=f"systems to compare (identity and adapter are always included); default {','.join(SYSTEMS)}")
    ap.add_argument("--split", choices=("test", "dev"), default="test",
                    help="dev: score the dev split (for choosing an adapter); prints and saves, records nothing")
    ap.add_argument("--generate-only", default=None, metavar="SYSTEMS",
                    help="only fill the generation cache for these systems (e.g. zero-shot,few-shot), then stop")
    args = ap.parse_args()
    chosen = {s.strip() for s in args.systems.split(",")} | {"identity", "adapter"}
    unknown = chosen - set(SYSTEMS)
    if unknown:
        raise SystemExit(f"--systems: unknown {sorted(unknown)}; known: {', '.join(SYSTEMS)}")
    SYSTEMS = tuple(s for s in SYSTEMS if s in chosen)
    from srllm.rewrite import RewriteConfig

    check_config = RewriteConfig() if args.retry_samples is None else RewriteConfig(retry_samples=args.retry_samples)
    if args.generate_only:
        sets = load_sets(args.data, args.paradetox_n, args.neutral_n, args.counterfactual_n, args.seed,
                         args.split)
        chosen = tuple(s.strip() for s in args.generate_only.split(",") if s.strip())
        _, timing = generate(sets, _adapter_path(args.adapter), args.cache, args.batch_size, chosen, check_config)
        print("generation seconds per system:", {k: round(v, 1) for k, v in timing.items()})
        return

    adapter = _adapter_path(args.adapter)
    note = machine_note()
    sets = load_sets(args.data, args.paradetox_n, args.neutral_n, args.counterfactual_n, args.seed, args.split)
    outputs, timing = generate(sets, adapter, args.cache, args.batch_size, SYSTEMS[1:], check_config)
    rows, neutral_rows, per_item = score(sets, outputs, args.judge_policy)
    comparisons = paired(sets, per_item)
    cols = ["set", "system", "n", "STA", "SIM", "FL", "J", "BLEU", "empty"]
    tables = (markdown_table(rows, cols) + "\n\nOver-correction (share of neutral inputs changed; whitespace "
              "ignored):\n\n" + markdown_table(neutral_rows) + "\n\nPaired bootstrap, each trained system minus "
              "each baseline (same items):\n\n" + markdown_table(comparisons))
    print(tables)
    print("generation seconds per system:", {k: round(v, 1) for k, v in timing.items()})
    args.cache.mkdir(parents=True, exist_ok=True)
    judged = f"-judge-{args.judge_policy.stem}" if args.judge_policy else ""
    results = args.cache / (f"results{judged}.json" if args.split == "test" else
                            f"results-{args.split}-{adapter_fingerprint(adapter)}{judged}.json")
    results.write_text(json.dumps(
        {"rows": rows, "over_correction": neutral_rows, "paired": comparisons, "adapter": adapter,
         "generation_seconds": timing, "machine": note}, indent=2, default=str) + "\n", encoding="utf-8")
    if args.split != "test":
        print(f"saved {results} (the dev split records nothing in the docs)")
        return
    (args.cache / "samples.json").write_text(json.dumps(
        {name: [{"input": t, **{s: outputs[name][s][i] for s in SYSTEMS[1:] if s in outputs[name]}}
                for i, t in enumerate(st["texts"][:20])]
         for name, st in sets.items()}, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if not args.no_record and not args.judge_policy:
        cmd = ("`.venv/bin/python benchmarks/compare_rewriters.py --data " + str(args.data) + f" --paradetox-n "
               f"{args.paradetox_n} --neutral-n {args.neutral_n} --counterfactual-n {args.counterfactual_n} --systems "
               f"{shlex.quote(','.join(SYSTEMS))}`")
        body = (f"Command: {cmd} ({note}). Adapter: `{adapter}`.\n\n" + _doc_for_record()
                + "\n\nValues: mean [95% bootstrap CI]; BLEU in points.\n\n" + tables
                + f"\n\nGeneration time (all sets, seconds): {', '.join(f'{k} {v:.0f}' for k, v in timing.items())}.")
        update_section("Rewriting: adapter vs prompting", body)
        card = Path(adapter) / "README.md"
        if card.is_file():  # the adapter's own model card carries the same measurement
            update_section("Measured (benchmarks/compare_rewriters.py)", body, doc=card)


if __name__ == "__main__":
    main()
