#!/usr/bin/env bash
# The response-alignment recipe for the embedded model (docs/training.md, "Response alignment"): data, SIT, RAFT on
# top of SIT, DPO on top of SIT (pairs from RAFT's first-round samples), one step after the other. Every step is
# skipped when its output exists, so re-running resumes. Logs: runs/logs/. Usage: bash scripts/align_recipe.sh
set -euo pipefail
SRLLM=${SRLLM:-srllm}
mkdir -p runs/logs
# The risky-looking safe prompts have no known answer: SIT answers them with the base model's own greedy answers
# (sit-risky.jsonl), so the data is built twice, before and after sampling those answers.
[ -f runs/align/prompts.jsonl ] || $SRLLM data align --out-dir runs/align 2>&1 | tee runs/logs/align.log
[ -f runs/align/risky-greedy.jsonl ] || $SRLLM data sample --prompts runs/align/prompts.jsonl --label benign \
  --source risky-safe --k 0 --out runs/align/risky-greedy.jsonl 2>&1 | tee runs/logs/risky-greedy.log
[ -s runs/align/sit-risky.jsonl ] || $SRLLM data align --out-dir runs/align --general runs/align/risky-greedy.jsonl \
  2>&1 | tee -a runs/logs/align.log
[ -f runs/assistant-sit/adapter/adapter_config.json ] || \
  $SRLLM train sft --config configs/assistant-sit.yaml $( [ -d runs/assistant-sit ] && echo --resume ) \
  2>&1 | tee runs/logs/assistant-sit.log
[ -f runs/assistant-raft/adapter/adapter_config.json ] || \
  $SRLLM train raft --config configs/assistant-raft.yaml 2>&1 | tee runs/logs/assistant-raft.log
[ -f runs/align/pairs.jsonl ] || $SRLLM data pairs --prompts runs/align/prompts.jsonl \
  --samples runs/assistant-raft/round-1/samples.jsonl --out runs/align/pairs.jsonl 2>&1 | tee runs/logs/pairs.log
[ -f runs/assistant-dpo/adapter/adapter_config.json ] || \
  $SRLLM train dpo --config configs/assistant-dpo.yaml $( [ -d runs/assistant-dpo ] && echo --resume ) \
  2>&1 | tee runs/logs/assistant-dpo.log
