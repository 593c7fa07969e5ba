#!/usr/bin/env bash
# DPO and RAFT on top of the shipped rewrite adapter, then the detox suite of each against the shipped adapter
# (docs/benchmarks.md, "Rewriting: shipped SFT adapter vs + DPO vs + RAFT"). Each step is skipped when its output
# exists. The two evaluations share one generation cache, so the shipped adapter's rewrites are made once.
set -euo pipefail
SRLLM=${SRLLM:-srllm}
LIMIT=${LIMIT:-60}
mkdir -p runs/logs
[ -f runs/cmd.jsonl ] || $SRLLM data build --out runs/cmd.jsonl 2>&1 | tee runs/logs/cmd-build.log
[ -f runs/rewrite-pairs.jsonl ] || $SRLLM data pairs --cmd runs/cmd.jsonl --out runs/rewrite-pairs.jsonl \
  2>&1 | tee runs/logs/rewrite-pairs.log
[ -f runs/rewrite-dpo/adapter/adapter_config.json ] || $SRLLM train dpo --data runs/rewrite-pairs.jsonl \
  --adapter default --max-train-samples 120 --batch-size 4 --max-steps 30 --max-length 256 --learning-rate 5e-5 \
  --eval-split "" --output-dir runs/rewrite-dpo --threads 2 --report-to none --logging-steps 5 --save-steps 10 \
  2>&1 | tee runs/logs/rewrite-dpo.log
[ -f runs/rewrite-raft/adapter/adapter_config.json ] || $SRLLM train raft --prompts runs/cmd.jsonl --task rewrite \
  --reward rewrite --adapter default --rounds 1 --k 2 --prompts-per-round 48 --max-new-tokens 48 --floor 0.5 \
  --batch-size 8 --learning-rate 5e-5 --shared-prefix --output-dir runs/rewrite-raft --threads 2 --report-to none \
  2>&1 | tee runs/logs/rewrite-raft.log
mkdir -p runs/eval-rewrite-dpo/cache runs/eval-rewrite-raft
[ -e runs/eval-rewrite-raft/cache ] || ln -s ../eval-rewrite-dpo/cache runs/eval-rewrite-raft/cache
for m in dpo raft; do
  [ -f runs/eval-rewrite-$m/results.json ] || $SRLLM eval --suite detox --adapter runs/rewrite-$m/adapter \
    --baseline default --baseline-adapter default --limit "$LIMIT" --out runs/eval-rewrite-$m --threads 2 \
    --no-progress 2>&1 | tee runs/logs/eval-rewrite-$m.log
done
