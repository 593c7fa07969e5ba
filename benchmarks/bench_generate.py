"""Generation engines side by side: transformers (fp32) and CTranslate2 (int8) on the same rewrite prompts (the
embedded SmolLM2-135M-Instruct + the shipped SR adapter), in one run, interleaved, on the same threads.

    .venv/bin/python benchmarks/bench_generate.py [--n 24] [--new-tokens 64] [--rounds 2] [--quality 30] [--no-record]

Speed: N ParaDetox dev texts in the shipped rewrite prompt (srllm.rewrite.build_messages), exactly --new-tokens
new tokens forced on both engines (min = max length, so the work is the same), at batch 1 and batch 8; the engines
alternate on every batch (transformers, ctranslate2, transformers, ...) so the machine's load falls on both alike;
tokens/s is over all --rounds. Quality: --quality ParaDetox dev texts rewritten greedily by each backend through
GenerationBackend.generate as `srllm check` calls it (the rewriter's token budget, natural stopping), judged by the
detector (STA: share of outputs not flagged) and MiniLM similarity to the input, with the divergent rewrites quoted.
llama.cpp, onnxruntime-genai and the detector are not measured here (issue 15's later items).
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import benchmark_parser, machine_note, markdown_table, shared_data_or_exit, update_section  # noqa: E402

from srllm.evaluate.rewrite_data import paradetox_pairs  # noqa: E402
from srllm.models import GenerationConfig, resolve_adapter  # noqa: E402
from srllm.rewrite import build_messages  # noqa: E402


def cpu_flags() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "unknown"
    flags = sorted(set(re.findall(r"\b(avx2|avx512f|amx_tile)\b", text)))
    return ", ".join(flags) or "none of avx2/avx512f/amx_tile"


def forced_hf(backend, prompts: list[str], batch: int, new: int) -> float:
    """Seconds to generate exactly `new` tokens per prompt with transformers, `batch` prompts at a time."""
    import torch

    tok = backend.tokenizer
    tok.padding_side = "left"
    t0 = time.perf_counter()
    with torch.inference_mode():
        for i in range(0, len(prompts), batch):
            enc = tok(prompts[i:i + batch], return_tensors="pt", padding=True, add_special_tokens=False)
            out = backend.model.generate(**enc, max_new_tokens=new, min_new_tokens=new, do_sample=False,
                                         temperature=None, top_p=None, top_k=None, pad_token_id=tok.pad_token_id)
            assert out.shape[1] - enc["input_ids"].shape[1] == new
    return time.perf_counter() - t0


def forced_ct2(backend, prompts: list[str], batch: int, new: int) -> float:
    tok = backend.tokenizer
    tokens = [tok.convert_ids_to_tokens(tok(p, add_special_tokens=False)["input_ids"]) for p in prompts]
    t0 = time.perf_counter()
    for i in range(0, len(tokens), batch):
        res = backend.generator.generate_batch(tokens[i:i + batch], max_length=new, min_length=new,
                                               include_prompt_in_result=False, sampling_topk=1,
                                               end_token=backend.end_ids, max_batch_size=batch)
        assert all(len(r.sequences_ids[0]) == new for r in res)
    return time.perf_counter() - t0


def speed(engines: dict, texts: list[str], new: int, rounds: int) -> list[dict]:
    """tokens/s per engine at batch 1 and 8; the engines alternate on every batch (A, B, A, B, ...) so a change in
    the machine's load falls on both alike."""
    prompts = {name: [b.prompt_text(build_messages(t)) for t in texts] for name, b in engines.items()}
    run = {"transformers": forced_hf, "ctranslate2": forced_ct2}
    secs: dict[tuple[str, int], float] = {}
    for name, b in engines.items():  # warm up (first-call allocations, thread pools)
        run[name](b, prompts[name][:2], 2, 4)
    for r in range(rounds):
        for batch in (1, 8):
            for i in range(0, len(texts), batch):
                for name, b in engines.items():
                    secs[name, batch] = secs.get((name, batch), 0.0) + run[name](b, prompts[name][i:i + batch],
                                                                                 batch, new)
            print(f"batch {batch}: " + ", ".join(f"{name} {(r + 1) * len(texts) * new / secs[name, batch]:.1f}"
                                                 for name in engines) + f" tokens/s so far "
                  f"(load {os.getloadavg()[0]:.1f})", flush=True)
    rows = []
    for name in engines:
        row = {"engine": name}
        for batch in (1, 8):
            row[f"tokens/s batch {batch}"] = rounds * len(texts) * new / secs[name, batch]
        rows.append(row)
    base = rows[0]
    for row in rows:
        for batch in (1, 8):
            row[f"x transformers b{batch}"] = row[f"tokens/s batch {batch}"] / base[f"tokens/s batch {batch}"]
    return rows


def quality(engines: dict, texts: list[str]) -> tuple[list[dict], list[dict]]:
    from srllm.detect import Detector
    from srllm.rewrite.clean import clean_rewrite
    from srllm.rewrite.rewriter import rewrite_budget

    detector = Detector()
    outs, secs = {}, {}
    for name, b in engines.items():
        t0 = time.perf_counter()
        raw = b.generate([build_messages(t) for t in texts],
                         GenerationConfig(max_new_tokens=rewrite_budget(texts), batch_size=8))
        secs[name] = time.perf_counter() - t0
        outs[name] = [clean_rewrite(r, t) for r, t in zip(raw, texts, strict=True)]
    rows = []
    for name in engines:
        o = outs[name]
        unsafe = detector.is_unsafe(o)
        sims = detector.similarity(texts, o)
        rows.append({"engine": name, "n": len(texts), "STA (not flagged)": float(1 - unsafe.mean()),
                     "similarity (MiniLM)": float(sims.mean()),
                     "unchanged": sum(x == t for x, t in zip(o, texts, strict=True)),
                     "seconds (batch 8)": secs[name]})
    names = list(engines)
    pairs = [{"input": t, names[0]: outs[names[0]][i], names[1]: outs[names[1]][i]} for i, t in enumerate(texts)]
    return rows, pairs


def main() -> None:
    ap = benchmark_parser(__doc__)
    ap.add_argument("--n", type=int, default=24, help="prompts of the speed test")
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--quality", type=int, default=30, help="ParaDetox dev texts of the quality check (0: none)")
    args = ap.parse_args()
    data = shared_data_or_exit("ParaDetox")
    from srllm.models.backends import TransformersBackend
    from srllm.models.backends_ct2 import CTranslate2Backend

    note = f"{machine_note()}; CPU flags: {cpu_flags()}"
    import torch

    threads = torch.get_num_threads()
    dev = paradetox_pairs(data, "dev").texts
    adapter = resolve_adapter("default", model_is_default=True)
    engines = {"transformers": TransformersBackend(model_name=None, adapter=adapter),
               "ctranslate2": CTranslate2Backend(model_name=None, adapter=adapter)}
    print(f"{note}; {threads} threads", flush=True)
    rows = speed(engines, dev[: args.n], args.new_tokens, args.rounds)
    end_note = f"load average {os.getloadavg()[0]:.1f} at the end"
    table = markdown_table(rows)
    print(table)
    cmd = (f"`.venv/bin/python benchmarks/bench_generate.py --n {args.n} --new-tokens {args.new_tokens} "
           f"--rounds {args.rounds} --quality {args.quality}`")
    body = (f"{cmd} ({note}; {end_note}; {threads} threads for both engines).\n\n"
            f"The embedded SmolLM2-135M-Instruct with the shipped SR adapter (transformers: fp32, adapter attached; "
            f"CTranslate2 {engines['ctranslate2'].compute_type}: the adapter merged, converted once and cached), "
            f"{args.n} ParaDetox dev texts in the shipped rewrite prompt, exactly {args.new_tokens} new tokens "
            f"forced, greedy. The engines alternate on every batch ({args.rounds} round(s)); the machine is shared, "
            "so only the ratios measured in one run mean much.\n\n"
            f"{table}\n")
    if args.quality:
        qtexts = dev[args.n: args.n + args.quality]
        qrows, pairs = quality(engines, qtexts)
        qtable = markdown_table(qrows)
        print(qtable)
        names = list(engines)
        diverge = [p for p in pairs if p[names[0]] != p[names[1]]]
        examples = (diverge[:4] + [p for p in pairs if p[names[0]] == p[names[1]]][:2])
        quoted = "\n".join(f"- `{p['input']}`\n  - transformers: `{p[names[0]]}`\n  - ctranslate2: `{p[names[1]]}`"
                           for p in examples)
        print(quoted)
        same = len(pairs) - len(diverge)
        body += (f"\nRewrite quality, {len(qtexts)} other ParaDetox dev texts, greedy, the rewriter's token budget "
                 "and cleaning (as `srllm check` calls the backend, first attempt only), judged by the detector and "
                 f"MiniLM:\n\n{qtable}\n\n{same}/{len(pairs)} rewrites are identical across the engines. Some "
                 f"rewrites (first the divergent ones):\n\n{quoted}\n")
    if not args.no_record:
        update_section("Generation engines", body)


if __name__ == "__main__":
    main()
