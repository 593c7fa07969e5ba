"""RAFT, reward-ranked fine-tuning (Dong et al. 2023): per round, sample k candidates per prompt (temperature,
top-p, seeded; optionally plus the greedy answer), score each with a reward (`srllm.train.rewards`), keep each
prompt's best candidate when its reward reaches the floor, and fine-tune the adapter on the kept ones with
`srllm.train.sft`. The next round samples from the new adapter.

Layout of `output_dir`: `round-N/samples.jsonl` (every candidate and its reward), `round-N/sft.jsonl` (the kept
ones), `round-N/sft/adapter`, `round-N/round.json` (written last: a round with it is finished), `raft_log.jsonl`
(one line per finished round: mean reward, best-of-k reward, share kept, SFT loss), `reward_curve.png`, and the
final `adapter/` with its card. Re-running the same command resumes after the last finished round (a round cut
short reuses its samples and its SFT checkpoints).
"""

from __future__ import annotations

import json
import random
import shutil
import time
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from srllm.atomic import atomic_folder, write_json_atomic
from srllm.data.sources import read_jsonl
from srllm.data.writers import write_jsonl_atomic
from srllm.errors import SrllmConfigError, SrllmDataError
from srllm.train.raft_config import RaftConfig
from srllm.train.sft_config import SftConfig

__all__ = ["RaftResult", "conversation", "sample_candidates", "keep_best", "run_round", "train_raft",
           "reward_curve_png"]


@dataclass
class RaftResult:
    adapter_dir: Path
    rounds: list[dict]
    seconds: float


def conversation(row: dict, task: str) -> list[dict]:
    if task == "rewrite":
        from srllm.rewrite.prompts import build_messages

        return build_messages(row["text"])
    return [{"role": "user", "content": row["prompt"]}]


def sample_candidates(backend, rows: list[dict], *, task: str, k: int, temperature: float, top_p: float,
                      max_new_tokens: int, batch_size: int, seed: int, include_greedy: bool) -> list[list[str]]:
    """k sampled candidates per row (seeded), plus the greedy one first when `include_greedy`."""
    from srllm.models import GenerationConfig

    convs = [conversation(r, task) for r in rows]
    sampled = backend.generate([c for c in convs for _ in range(k)], GenerationConfig(
        max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p, batch_size=batch_size, seed=seed))
    out = [[s.strip() for s in sampled[i * k:(i + 1) * k]] for i in range(len(rows))]
    if include_greedy:
        greedy = backend.generate(convs, GenerationConfig(max_new_tokens=max_new_tokens, batch_size=batch_size))
        out = [[g.strip(), *cands] for g, cands in zip(greedy, out, strict=True)]
    return out


def keep_best(rewards: list[np.ndarray], floor: float) -> list[int | None]:
    """Per prompt, the index of its best candidate when that reward is >= floor, else None."""
    out = []
    for r in rewards:
        i = int(np.argmax(r)) if len(r) else -1
        out.append(i if i >= 0 and r[i] >= floor else None)
    return out


def _train_rows(cfg: RaftConfig) -> list[dict]:
    if not cfg.prompts:
        raise SrllmConfigError("RAFT needs --prompts PROMPTS.jsonl (`srllm data align` for responses, `srllm data "
                               "build` for rewriting)")
    rows = [r for r in read_jsonl(cfg.prompts) if r.get("split", "train") == cfg.train_split]
    key = "text" if cfg.task == "rewrite" else "prompt"
    bad = [r.get("id") for r in rows if not str(r.get(key, "")).strip() or "id" not in r]
    if bad or not rows:
        raise SrllmDataError(f"task {cfg.task} needs rows with id and {key} in split '{cfg.train_split}'"
                             + (f"; {len(bad)} rows lack them (first: {bad[0]})" if bad else "; none found"),
                             file=cfg.prompts)
    return rows


def _sft_config(cfg: RaftConfig, data: Path, adapter: str, out: Path, resume: bool) -> SftConfig:
    shared = {f.name: getattr(cfg, f.name) for f in fields(SftConfig)}
    return SftConfig(**{**shared, "data": str(data), "mix": None, "adapter": adapter, "output_dir": str(out),
                        "eval_split": "", "resume": resume, "max_train_samples": None})


def run_round(cfg: RaftConfig, n: int, adapter: str, reward, rows: list[dict], *, backend=None) -> dict:
    """One round (see the module doc); returns its log and writes round.json last."""
    from srllm.train.sft import train_sft

    rdir = Path(cfg.output_dir) / f"round-{n}"
    rdir.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    chosen = random.Random(cfg.seed * 1000 + n).sample(rows, min(cfg.prompts_per_round, len(rows)))
    samples_path = rdir / "samples.jsonl"
    if samples_path.is_file():  # a round cut short after sampling: reuse its samples
        samples = read_jsonl(samples_path)
    else:
        if backend is None:
            from srllm.models import TransformersBackend
            from srllm.models.loading import is_embedded_llm, resolve_adapter

            backend = TransformersBackend(model_name=cfg.model, adapter=resolve_adapter(
                adapter, model_is_default=is_embedded_llm(cfg.model)))
        cands = sample_candidates(backend, chosen, task=cfg.task, k=cfg.k, temperature=cfg.temperature,
                                  top_p=cfg.top_p, max_new_tokens=cfg.max_new_tokens, batch_size=cfg.gen_batch_size,
                                  seed=cfg.seed * 1000 + n, include_greedy=cfg.include_greedy)
        flat_rows = [r for r, c in zip(chosen, cands, strict=True) for _ in c]
        scores = reward(flat_rows, [s for c in cands for s in c])
        samples = []
        for j, (r, text) in enumerate(zip(flat_rows, [s for c in cands for s in c], strict=True)):
            extra = {k: round(float(v[j]), 4) for k, v in scores.items() if k != "reward"}
            samples.append({"id": r["id"], "label": r.get("label"), "response": text,
                            "reward": round(float(scores["reward"][j]), 4), **extra})
        write_jsonl_atomic(samples_path, samples)
    by_id: dict[str, list[dict]] = {}
    for s in samples:
        by_id.setdefault(str(s["id"]), []).append(s)
    kept = []
    for r in chosen:
        cands = by_id.get(str(r["id"]), [])
        best = keep_best([np.array([c["reward"] for c in cands])], cfg.floor)[0]
        if best is not None:
            text = cands[best]["response"]
            kept.append({"text": r["text"], "rewrite": text, "id": r["id"]} if cfg.task == "rewrite"
                        else {"prompt": r["prompt"], "completion": text, "id": r["id"]})
    rewards = np.array([s["reward"] for s in samples], dtype=float)
    best_of_k = [max(c["reward"] for c in by_id[str(r["id"])]) for r in chosen if by_id.get(str(r["id"]))]
    log = {"round": n, "prompts": len(chosen), "samples": len(samples), "mean_reward": float(rewards.mean()),
           "best_of_k_reward": float(np.mean(best_of_k)), "kept": len(kept), "kept_share": len(kept) / len(chosen),
           "start_adapter": adapter, "train_loss": None, "adapter": adapter}
    if kept:
        write_jsonl_atomic(rdir / "sft.jsonl", kept)
        sft_dir = rdir / "sft"
        resume = sft_dir.is_dir() and any(sft_dir.glob("checkpoint-*"))
        res = train_sft(_sft_config(cfg, rdir / "sft.jsonl", adapter, sft_dir, resume))
        log.update(train_loss=res.train_loss, steps=res.steps, adapter=str(res.adapter_dir))
    log["seconds"] = round(time.time() - t0, 1)
    write_json_atomic(rdir / "round.json", log)
    return log


def reward_curve_png(logs: list[dict], path: Path) -> Path:
    """Mean and best-of-k reward and the share kept per round."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.6, 3.4), dpi=100)
    x = [g["round"] for g in logs]
    ax.plot(x, [g["mean_reward"] for g in logs], marker="o", label="mean reward (all samples)")
    ax.plot(x, [g["best_of_k_reward"] for g in logs], marker="s", label="best-of-k reward")
    ax.plot(x, [g["kept_share"] for g in logs], marker="^", linestyle="--", label="share kept")
    ax.set_xlabel("round (samples drawn at the start of the round)")
    ax.set_ylim(0, 1.02)
    ax.set_xticks(x)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def train_raft(cfg: RaftConfig, *, reward=None, command: str | None = None, backend_factory=None) -> RaftResult:
    """Run the rounds (resuming after the last finished one) and save the final adapter with a card.
    `reward` defaults to `load_reward(cfg.reward)`; `backend_factory(adapter) -> backend` is for tests."""
    from srllm.train.align_card import write_alignment_card
    from srllm.train.rewards import load_reward
    from srllm.train.sft import embedded_hub_id

    if cfg.threads:
        import torch

        torch.set_num_threads(cfg.threads)
    reward = reward or load_reward(cfg.reward)
    rows = _train_rows(cfg)
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0, logs, adapter = time.time(), [], cfg.adapter
    for n in range(1, cfg.rounds + 1):
        done = out / f"round-{n}" / "round.json"
        if done.is_file():
            log = json.loads(done.read_text("utf-8"))
            print(f"round {n}: finished before, reusing {log['adapter']}", flush=True)
        else:
            backend = backend_factory(adapter) if backend_factory else None
            log = run_round(cfg, n, adapter, reward, rows, backend=backend)
            with open(out / "raft_log.jsonl", "a", encoding="utf-8") as f:
                f.write(json.dumps(log) + "\n")
            print(f"round {n}: mean reward {log['mean_reward']:.3f}, best-of-k {log['best_of_k_reward']:.3f}, "
                  f"kept {log['kept']}/{log['prompts']}, loss {log['train_loss']}", flush=True)
        logs.append(log)
        adapter = log["adapter"]
    if adapter in ("", "none") or not Path(adapter).is_dir():
        raise SrllmConfigError("no round kept any sample, so no adapter was trained: lower --floor or raise --k")
    with atomic_folder(out / "adapter") as tmp:
        shutil.copytree(adapter, tmp, dirs_exist_ok=True)
    reward_curve_png(logs, out / "reward_curve.png")
    summary = {"method": "raft", "config": cfg.to_dict(), "base_model_id": embedded_hub_id(cfg.model),
               "reward": getattr(reward, "name", str(cfg.reward)), "seconds": round(time.time() - t0, 1),
               "rounds": logs}
    write_json_atomic(out / "summary.json", summary)
    write_alignment_card(out / "adapter", summary, command=command)
    return RaftResult(out / "adapter", logs, summary["seconds"])
