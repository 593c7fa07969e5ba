"""Response alignment on the command line, thin shells over the Python API: `srllm train dpo`, `srllm train raft`,
`srllm train response-judge`, `srllm data align`, `srllm data pairs` and `srllm data sample`."""

from __future__ import annotations

import json
import shlex
import sys
from collections import Counter
from pathlib import Path

import typer
from rich.console import Console

from srllm.cli._app import data_app, friendly_errors, train_app
from srllm.cli.options import options_from
from srllm.train.dpo_config import DpoConfig
from srllm.train.raft_config import RaftConfig
from srllm.train.response_judge import ResponseJudgeTrainConfig


def _command() -> str:
    return "srllm " + shlex.join(sys.argv[1:])


def _counts(title: str, counts: Counter) -> None:
    console = Console(width=140)
    console.print(title)
    for k, v in sorted(counts.items()):
        console.print(f"  {k}: {v}")


@train_app.command("dpo")
@friendly_errors
@options_from(DpoConfig)
def dpo_command(config: DpoConfig):
    """Direct preference optimisation (TRL DPOTrainer + LoRA) on `srllm data pairs` output, on the base model or on
    top of an SFT adapter (--adapter); the reference is the PEFT one (adapter disabled, or a frozen copy)."""
    from srllm.train.dpo import train_dpo

    r = train_dpo(config, command=_command())
    Console(width=140).print(f"adapter: {r.adapter_dir}\nsteps {r.steps}, {r.train_pairs} pairs, "
                             f"{r.seconds / 60:.1f} min, train loss {r.train_loss:.4f}")


@train_app.command("raft")
@friendly_errors
@options_from(RaftConfig)
def raft_command(config: RaftConfig):
    """Reward-ranked fine-tuning: rounds of sample k -> reward -> keep the best above a floor -> fine-tune.
    Re-running the same command resumes after the last finished round."""
    from srllm.train.raft import train_raft

    r = train_raft(config, command=_command())
    Console(width=140).print(f"adapter: {r.adapter_dir}; {len(r.rounds)} rounds in {r.seconds / 60:.1f} min; "
                             f"reward curve: {Path(config.output_dir) / 'reward_curve.png'}")


@train_app.command("response-judge")
@friendly_errors
@options_from(ResponseJudgeTrainConfig)
def response_judge_command(config: ResponseJudgeTrainConfig):
    """Train the response-safety judge (prompt + response -> unsafe, refusal, category) on shipped and rule-labelled
    data; `benchmarks/bench_response_judge.py` checks it on held-out human labels."""
    from srllm.train.response_judge import train_response_judge

    judge = train_response_judge(config)
    Console(width=140).print(f"wrote {config.out}; CV on the training data: {json.dumps(judge.info['cv'])}")


@data_app.command("align")
@friendly_errors
def align_command(
    out_dir: Path = typer.Option(Path("runs/align"), "--out-dir", "-o", help="Writes prompts.jsonl (every prompt "
                                 "with label and split), sit-safety.jsonl, sit-general.jsonl, sit-risky.jsonl, "
                                 "stats.json."),
    seed: int = typer.Option(0, help="Seed of the clustering, the hash splits and the refusal wording."),
    heldout_share: float = typer.Option(0.25, help="Share of harmful prompts (whole clusters) held out."),
    near_dup: float = typer.Option(0.8, help="Drop train prompts with a MiniLM cosine >= this to a held-out one."),
    general: Path | None = typer.Option(None, help="Samples JSONL (`srllm data sample`) of the model's own answers "
                                        "to the benign train prompts, for sit-general (self-distillation)."),
):
    """The response-alignment data: harmful prompts split by cluster, benign prompts (ordinary, risky-looking,
    medical), and the SIT files to mix with `srllm train sft --mix`."""
    from srllm.data.alignment import alignment_prompts, sit_rows
    from srllm.data.sources import read_jsonl
    from srllm.data.writers import write_jsonl_atomic

    rows, counts = alignment_prompts(seed=seed, heldout_share=heldout_share, near_dup=near_dup)
    answers = {str(s["id"]): s["response"] for s in read_jsonl(general)} if general else None
    safety, gen = sit_rows(rows, general=answers, seed=seed)
    risky = [r for r in gen if r["source"] == "risky-safe"]  # a file of their own, to weigh them in the mix
    gen = [r for r in gen if r["source"] != "risky-safe"]
    write_jsonl_atomic(out_dir / "prompts.jsonl", rows)
    write_jsonl_atomic(out_dir / "sit-safety.jsonl", safety)
    write_jsonl_atomic(out_dir / "sit-general.jsonl", gen)
    write_jsonl_atomic(out_dir / "sit-risky.jsonl", risky)
    counts["sit-safety rows"], counts["sit-general rows"], counts["sit-risky rows"] = len(safety), len(gen), len(risky)
    (out_dir / "stats.json").write_text(json.dumps({"command": _command(), "counts": dict(sorted(counts.items()))},
                                                   indent=1) + "\n", "utf-8")
    _counts(f"wrote {out_dir}/prompts.jsonl, sit-safety.jsonl, sit-general.jsonl, sit-risky.jsonl", counts)


@data_app.command("pairs")
@friendly_errors
def pairs_command(
    out: Path = typer.Option(..., "--out", "-o", help="Preference pairs JSONL for `srllm train dpo`."),
    prompts: Path | None = typer.Option(None, help="Response pairs from this prompts JSONL (`srllm data align`)."),
    cmd: Path | None = typer.Option(None, help="Rewriting pairs from this CMD JSONL (`srllm data build`)."),
    samples: list[Path] = typer.Option([], help="Scored samples JSONL (`srllm data sample`, a RAFT round's "
                                       "samples.jsonl) to take judged-safe / judged-unsafe responses from. "
                                       "Repeatable."),
    split: str = typer.Option("train", help="Only prompts / records of this split."),
    seed: int = typer.Option(0, help="Seed of the rule-made responses."),
):
    """Preference pairs: for responses, chosen = a safe response, rejected = a harmful or refusing one; for
    rewriting, chosen = the human rewrite, rejected = the original, a flagged rewrite or one that lost the meaning."""
    from srllm.data.pairs import index_samples, response_pairs, rewrite_pairs
    from srllm.data.sources import read_jsonl
    from srllm.data.writers import write_jsonl_atomic
    from srllm.errors import SrllmConfigError

    if (prompts is None) == (cmd is None):
        raise SrllmConfigError("give --prompts (response pairs) or --cmd (rewriting pairs), one of them")
    scored = index_samples([s for f in samples for s in read_jsonl(f)])
    if prompts is not None:
        rows = [r for r in read_jsonl(prompts) if r.get("split", "train") == split]
        pairs, counts = response_pairs(rows, samples=scored, seed=seed)
    else:
        from srllm.schema import Record

        recs = [Record(**{k: v for k, v in r.items() if k in Record.model_fields}) for r in read_jsonl(cmd)]
        pairs, counts = rewrite_pairs([r for r in recs if r.split == split], samples=scored, seed=seed)
    write_jsonl_atomic(out, pairs)
    _counts(f"wrote {len(pairs)} pairs to {out}", counts)


@data_app.command("sample")
@friendly_errors
def sample_command(
    prompts: Path = typer.Option(..., help="Prompts JSONL (id, prompt[, label, split]); or CMD rows with --task "
                                 "rewrite."),
    out: Path = typer.Option(..., "--out", "-o", help="Samples JSONL: id, label, prompt, response, reward, ..."),
    model: str = typer.Option("default", help="Model: 'default' (embedded SmolLM2), a path or a hub id."),
    adapter: str = typer.Option("none", help="Adapter folder, 'default' (shipped rewrite adapter) or 'none'."),
    task: str = typer.Option("response", help="response or rewrite."),
    split: str = typer.Option("train", help="Only rows of this split."),
    label: str | None = typer.Option(None, help="Only rows with this label (harmful / benign)."),
    source: str | None = typer.Option(None, help="Only rows of this source (e.g. risky-safe, for sit-risky.jsonl)."),
    limit: int | None = typer.Option(None, help="At most this many prompts (seeded sample)."),
    k: int = typer.Option(0, help="Sampled responses per prompt (0: the greedy response only)."),
    temperature: float = typer.Option(0.8), top_p: float = typer.Option(0.95),
    max_new_tokens: int = typer.Option(96), batch_size: int = typer.Option(16), seed: int = typer.Option(0),
    reward: str = typer.Option("judge", help="Reward to score the samples with (as `srllm train raft --reward`)."),
    threads: int | None = typer.Option(None, help="torch CPU threads."),
):
    """Generate responses (greedy and/or k samples) and score them: self-distillation data for SIT, on-policy
    samples for `srllm data pairs`."""
    import random

    from srllm.data.sources import read_jsonl
    from srllm.data.writers import write_jsonl_atomic
    from srllm.models import TransformersBackend
    from srllm.train.raft import sample_candidates
    from srllm.train.rewards import load_reward

    if threads:
        import torch

        torch.set_num_threads(threads)
    rows = [r for r in read_jsonl(prompts) if r.get("split", "train") == split
            and label in (None, r.get("label")) and source in (None, r.get("source"))]
    if limit is not None and len(rows) > limit:
        rows = random.Random(seed).sample(rows, limit)
    from srllm.models.loading import is_embedded_llm, resolve_adapter

    backend = TransformersBackend(model_name=None if model == "default" else model,
                                  adapter=resolve_adapter(adapter, model_is_default=is_embedded_llm(model)))
    cands = sample_candidates(backend, rows, task=task, k=k, temperature=temperature, top_p=top_p,
                              max_new_tokens=max_new_tokens, batch_size=batch_size, seed=seed, include_greedy=True)
    flat = [(r, s) for r, c in zip(rows, cands, strict=True) for s in c]
    scores = load_reward(reward)([r for r, _ in flat], [s for _, s in flat])
    out_rows = [{"id": r["id"], "label": r.get("label"), "prompt": r.get("prompt", r.get("text")), "response": s,
                 **{key: round(float(v[i]), 4) for key, v in scores.items()}} for i, (r, s) in enumerate(flat)]
    write_jsonl_atomic(out, out_rows)
    Console(width=140).print(f"wrote {len(out_rows)} samples of {len(rows)} prompts to {out}; mean reward "
                             f"{float(scores['reward'].mean()):.3f}")
