"""Shared by the benchmark scripts: their command line, the shared data they need, and printing a table and
recording it as a section of docs/benchmarks.md."""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import time
from pathlib import Path

from srllm.atomic import write_text_atomic

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
HEADER = ("# Benchmarks\n\nEvery number here was measured by a script in `benchmarks/`; each section names the command "
          "that produced it and when. Machine: CPU only, 2 cores.\n")


def benchmark_parser(doc: str) -> argparse.ArgumentParser:
    """A recording script's parser: its docstring as the help (line breaks kept) and --no-record."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--no-record", action="store_true", help="Print only; do not update docs/benchmarks.md.")
    return ap


def shared_data_or_exit(what: str = "the benchmark sets") -> Path:
    """The ../shared/data folder; without it the script stops, saying it needs it for `what`."""
    from srllm.data import shared_data_dir

    data = shared_data_dir()
    if data is None:
        sys.exit(f"needs ../shared/data ({what})")
    return data


def markdown_table(rows: list[dict], columns: list[str] | None = None) -> str:
    columns = columns or list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        lines.append("| " + " | ".join(_fmt(r.get(c, "")) for c in columns) + " |")
    return "\n".join(lines)


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}"
    return str(v)


SIMD_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16")


def cpu_description() -> str:
    """CPU model and the SIMD flags that matter for PyTorch on CPU (from /proc/cpuinfo where there is one)."""
    model, flags = platform.processor() or platform.machine(), []
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return model
    for line in info.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and value.strip():
            model = value.strip()
        elif key.strip() == "flags":
            have = set(value.split())
            flags = [f for f in SIMD_FLAGS if f in have]
            break
    return f"{model} ({' '.join(flags) or 'no AVX'})"


def machine_note() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{cpu_description()}, {os.cpu_count()} cores, load average {load:.1f} at start, "
            f"{time.strftime('%Y-%m-%d')}")


def update_section(title: str, body: str, doc: Path = DOC) -> None:
    """Replace (or append) the `## title` section of `doc` (docs/benchmarks.md), writing atomically."""
    text = doc.read_text("utf-8") if doc.exists() else HEADER
    section = f"## {title}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(lambda _m: section + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    write_text_atomic(doc, text)
