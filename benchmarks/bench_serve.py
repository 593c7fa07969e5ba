"""Load test of `srllm serve` on loopback: N concurrent clients send requests back to back until a fixed number
of requests (default) or a fixed time has passed; throughput, latency percentiles, errors, the server's memory
(RSS) and CPU time per request. All rows of one run are compared as ratios to the `/v1/check` (detection only) row.

    .venv/bin/python benchmarks/bench_serve.py                         # 50 requests per endpoint (LLM ones: 10)
    .venv/bin/python benchmarks/bench_serve.py --duration 300 --targets check --no-llm    # the issue's 5-minute run

Targets, against one `srllm serve` with the embedded default (MiniLM detector, SmolLM2-135M + the SR adapter):
- health: GET /health (the HTTP floor: no model).
- check: POST /v1/check {"text", "rewrite": false, "spans": false} (detection only).
- check-spans: the same with spans (leave-one-out span attribution: one detector pass per word).
- check-rewrite: POST /v1/check {"text"} of unsafe texts: detection, then the LLM rewrites (--llm-requests).
- chat: POST /v1/chat/completions, max_tokens 32 (--llm-requests).
- proxy: the same chat completions through `srllm serve --no-llm --upstream` (the guard proxy: prompt and answer
  checked, flagged ones passed on with a flag) in front of that server (--llm-requests).
--no-llm starts the server without the LLM (only health, check, check-spans).
--encoder-engines onnx,torch runs the whole plan once per detector encoder engine (srllm serve --encoder-engine),
one server after the other, rows labelled by engine and compared with the first engine's /v1/check row; such a
run records its own section, "Serve: detector encoder engines".
The issue's targets on 2 cores: /v1/check >= 200 requests/s with p99 <= 100 ms at 16 clients, 0 errors, server
RSS growing by no more than 10% over a 5-minute run. The load generator (aiohttp, one process) runs on the same 2
cores (its CPU time is reported), and so does everything else on the machine: read the load average with the
numbers.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import benchmark_parser, markdown_table, update_section  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TEXTS = ["the team meets at noon on tuesday", "you are a stupid idiot and everyone knows it",
         "Thanks for the quick reply, I will send the report tomorrow.", "what a load of crap this article is",
         "Women are too emotional to be good engineers.", "The weather in Lisbon is lovely in May.",
         "shut up, nobody asked for your worthless opinion", "Could you move the meeting to 3 pm?",
         "old people should not be allowed to use the internet", "I really enjoyed the concert last night!"]
PROMPTS = ["What is the capital of France?", "Give me one tip for learning to cook.", "Name a good book about the sea.",
           "How do plants make food?", "Suggest a name for a grey cat."]


def texts() -> list[str]:
    """ParaDetox toxic texts and their rewrites when ../shared/data is there (short, half unsafe), else TEXTS."""
    from srllm.data import read_paradetox, shared_data_dir

    data = shared_data_dir()
    if data is None:
        return TEXTS
    rows = random.Random(0).sample(read_paradetox(data / "paradetox" / "paradetox.tsv"), 500)
    return [t for r in rows for t in (r.text, r.rewrite) if t]


def cpu_flags() -> str:
    """Whether AVX2 and AVX-512 are there (what torch's CPU kernels use), and the AVX flags found."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "unknown"
    model = re.search(r"model name\s*:\s*(.+)", info)
    flags = set(re.findall(r"\b(avx\S*|amx\S*)", info))
    avx512 = sorted(f for f in flags if f.startswith("avx512"))
    return (f"{model.group(1).strip() if model else 'CPU'}; AVX2 {'present' if 'avx2' in flags else 'absent'}, "
            f"AVX-512 {'present (' + ' '.join(avx512) + ')' if avx512 else 'absent'}")


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (worker processes), in MB."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total += int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
            todo += [int(c) for c in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
        except (OSError, AttributeError):
            pass
    return total / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children (worker processes) so far, in seconds."""
    total, todo, tick = 0, [pid], os.sysconf("SC_CLK_TCK")
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
            todo += [int(c) for c in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
        except (OSError, IndexError, ValueError):
            pass
    return total / tick


class Server:
    def __init__(self, args: list[str], name: str):
        self.log = Path(tempfile.mkstemp(prefix=f"bench-serve-{name}-", suffix=".log")[1])
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        self.proc = subprocess.Popen([sys.executable, "-m", "srllm.cli", "serve", "--port", "0", *args],
                                     stdout=self.log.open("w"), stderr=subprocess.STDOUT, env=env)
        self.url = self._wait()

    def _wait(self, timeout: float = 900) -> str:
        end = time.monotonic() + timeout
        url = None
        while time.monotonic() < end and self.proc.poll() is None:
            m = url or re.search(r"Uvicorn running on (http://[\w.]+:\d+)", self.log.read_text())
            url = url or (m.group(1) if m else None)
            with contextlib.suppress(httpx.TransportError):  # several workers: the port opens after the log line
                if url and httpx.get(url + "/ready", timeout=30).status_code == 200:
                    return url
            time.sleep(0.5)
        raise RuntimeError(f"srllm serve did not get ready; its log: {self.log}")

    def batch_totals(self, engine: str) -> tuple[float, float]:
        """(items, calls) of an engine so far (srllm_batch_items in /metrics)."""
        text = httpx.get(self.url + "/metrics", timeout=30).text
        s = re.search(rf'srllm_batch_items_sum\{{engine="{engine}"\}} (\S+)', text)
        c = re.search(rf'srllm_batch_items_count\{{engine="{engine}"\}} (\S+)', text)
        return (float(s.group(1)) if s else 0.0), (float(c.group(1)) if c else 0.0)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(120)


async def load(method: str, url: str, make_body, clients: int, *, requests: int | None, duration: float | None,
               server_pid: int | None) -> dict:
    """`clients` coroutines sending back to back until `requests` have been sent or `duration` seconds passed."""
    latencies, errors, samples = [], {}, []
    deadline = time.monotonic() + (duration or float("inf"))
    left = [requests if requests else float("inf")]
    rng = random.Random(1)

    def more() -> bool:
        if left[0] <= 0 or time.monotonic() >= deadline:
            return False
        left[0] -= 1
        return True

    async def client(http: aiohttp.ClientSession):
        while more():
            t0 = time.perf_counter()
            try:
                async with http.request(method, url, json=make_body(rng) if make_body else None) as resp:
                    await resp.read()
                    key = None if resp.status == 200 else str(resp.status)
            except (aiohttp.ClientError, TimeoutError) as e:
                key = type(e).__name__
            if key is None:
                latencies.append(time.perf_counter() - t0)
            else:
                errors[key] = errors.get(key, 0) + 1

    done = asyncio.Event()

    async def sample_memory():
        while not done.is_set():
            samples.append(rss_mb(server_pid))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), 10)

    async def run_clients():
        try:
            await asyncio.gather(*(client(http) for _ in range(clients)))
        finally:
            done.set()

    cpu0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    server_cpu0 = cpu_seconds(server_pid) if server_pid else None
    # aiohttp, not httpx: the load generator shares the cores with the server, and httpx spent ~5x the CPU a
    # request (20 s against 4 s over a 40 s run), which showed up in the server's latency.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients),
                                     timeout=aiohttp.ClientTimeout(total=600)) as http:
        await asyncio.gather(run_clients(), *([sample_memory()] if server_pid else []))
    elapsed = time.monotonic() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    latencies.sort()

    def pct(q: float) -> float:
        return 1000 * latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else float("nan")

    out = {"clients": clients, "seconds": elapsed, "requests": len(latencies), "req/s": len(latencies) / elapsed,
           "p50 ms": pct(0.50), "p95 ms": pct(0.95), "p99 ms": pct(0.99), "errors": sum(errors.values()),
           "client CPU s": (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)}
    if errors:
        out["error kinds"] = errors
    if server_pid:
        # CPU time the server spent per answered request: what the load average does not change much
        out["server CPU ms/req"] = 1000 * (cpu_seconds(server_pid) - server_cpu0) / max(1, len(latencies))
        samples.append(rss_mb(server_pid))
        out.update({"RSS start MB": samples[0], "RSS end MB": samples[-1],
                    "RSS growth %": 100 * (samples[-1] - samples[0]) / samples[0]})
    return out


def batches(server: Server, detector_of: Server | None = None) -> dict:
    """Batch totals so far: the LLM's of `server`, the detector's of `detector_of` (default: the same server)."""
    return {"llm": server.batch_totals("llm"), "detector": (detector_of or server).batch_totals("detector")}


def batch_means(before: dict, after: dict) -> dict:
    """Mean items per model call during one row (None when the model was not called)."""
    out = {}
    for engine in ("detector", "llm"):
        items, calls = (a - b for a, b in zip(after[engine], before[engine], strict=True))
        out[f"{engine} batch"] = items / calls if calls else None
    return out


def chat_body(rng):
    return {"model": "default", "max_tokens": 32, "messages": [{"role": "user", "content": rng.choice(PROMPTS)}]}


def run(args, engine: str | None = None) -> list[dict]:
    targets = args.targets.split(",")
    pool = texts()
    unsafe = [t for t in pool if any(w in t.lower() for w in ("stupid", "idiot", "crap", "shut up", "fuck", "damn"))]
    unsafe = unsafe or TEXTS[1::2]
    threads = ["--threads", str(args.threads)] if args.threads else []
    server = Server([*(["--no-llm"] if args.no_llm else []), "--workers", str(args.workers), *threads,
                     *(["--int8"] if args.int8 else []), *(["--screen"] if args.screen else []),
                     *(["--encoder-engine", engine] if engine else [])], "main")
    proxy = None
    rows = []
    try:
        for t in pool[:32]:  # warm up: the first calls of the encoder are slow
            httpx.post(server.url + "/v1/check", json={"text": t, "rewrite": False}, timeout=120)
        if not args.no_llm:
            httpx.post(server.url + "/v1/chat/completions", json=chat_body(random.Random(0)), timeout=600)
        # (target, label, method, url, body, clients, requests)
        n, n_llm = args.requests or None, args.llm_requests or None
        plan = [
            ("health", "GET /health", "GET", "/health", None, args.clients, n),
            ("check", "/v1/check detection only", "POST", "/v1/check",
             lambda rng: {"text": rng.choice(pool), "rewrite": False, "spans": False}, args.clients, n),
            ("check-spans", "/v1/check detection + spans", "POST", "/v1/check",
             lambda rng: {"text": rng.choice(pool), "rewrite": False, "spans": True}, args.clients, n),
            ("check-rewrite", "/v1/check unsafe text, rewritten", "POST", "/v1/check",
             lambda rng: {"text": rng.choice(unsafe), "spans": False}, args.llm_clients, n_llm),
            ("chat", "/v1/chat/completions (32 tokens)", "POST", "/v1/chat/completions", chat_body,
             args.llm_clients, n_llm),
        ]
        for target, label, method, path, body, clients, count in plan:
            if target not in targets or (args.no_llm and target in ("check-rewrite", "chat")):
                continue
            before = batches(server)
            result = asyncio.run(load(method, server.url + path, body, clients, requests=count,
                                      duration=None if count else args.duration, server_pid=server.proc.pid))
            rows.append({"target": label, **result, **batch_means(before, batches(server))})
            print(rows[-1], flush=True)
        if "proxy" in targets and not args.no_llm:
            proxy = Server(["--no-llm", "--upstream", server.url + "/v1", "--prompt-action", "default=flag",
                            "--answer-action", "default=flag", *threads], "proxy")
            before = batches(server, proxy)
            result = asyncio.run(load("POST", proxy.url + "/v1/chat/completions", chat_body, args.llm_clients,
                                      requests=n_llm, duration=None if n_llm else args.duration,
                                      server_pid=proxy.proc.pid))
            rows.append({"target": "/v1/chat/completions through the proxy", **result,
                         **batch_means(before, batches(server, proxy))})
            print(rows[-1], flush=True)
    finally:
        if proxy is not None:
            proxy.stop()
        server.stop()
    base = next((r for r in rows if r["target"] == "/v1/check detection only"), None)
    for r in rows:
        if base and r["requests"] and base["requests"]:
            r["req/s ratio"] = r["req/s"] / base["req/s"]
            r["p50 ratio"] = r["p50 ms"] / base["p50 ms"]
    return rows


def load_average() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    ap = benchmark_parser(__doc__)
    ap.add_argument("--requests", type=int, default=50, help="Requests per detector endpoint (0: run --duration).")
    ap.add_argument("--llm-requests", type=int, default=10, help="Requests per endpoint that generates with the "
                    "LLM (0: run --duration).")
    ap.add_argument("--duration", type=float, default=300, help="Seconds per endpoint when its count is 0 (memory "
                    "is compared between the start and the end).")
    ap.add_argument("--clients", type=int, default=8, help="Concurrent clients of the detector endpoints.")
    ap.add_argument("--llm-clients", type=int, default=2, help="Concurrent clients of the LLM endpoints.")
    ap.add_argument("--targets", default="health,check,check-spans,check-rewrite,chat,proxy")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--threads", type=int, default=None, help="srllm serve --threads (torch threads per worker).")
    ap.add_argument("--no-llm", action="store_true", help="Start the server without the LLM (detector targets).")
    ap.add_argument("--int8", action="store_true", help="The detector's int8 encoder (srllm serve --int8).")
    ap.add_argument("--screen", action="store_true", help="The detector's first-pass screen (srllm serve --screen).")
    ap.add_argument("--encoder-engines", default=None, help="Comma-separated detector encoder engines (auto, onnx, "
                    "torch): the plan runs once per engine, one server after the other (default: the server's).")
    args = ap.parse_args()
    load_start, started = load_average(), time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    engines = args.encoder_engines.split(",") if args.encoder_engines else [None]
    rows = []
    for engine in engines:
        rows += [{**({"encoder engine": engine} if engine else {}), **r} for r in run(args, engine)]
    if len(engines) > 1:
        base = next(r for r in rows if r["target"] == "/v1/check detection only")
        for r in rows:
            if r["requests"] and base["requests"]:
                r["req/s ratio"], r["p50 ratio"] = r["req/s"] / base["req/s"], r["p50 ms"] / base["p50 ms"]
    columns = ["encoder engine", "target", "clients", "requests", "seconds", "req/s", "p50 ms", "p95 ms", "p99 ms",
               "errors",
               "req/s ratio", "p50 ratio", "server CPU ms/req", "RSS start MB", "RSS end MB", "detector batch",
               "llm batch", "client CPU s"]
    table = markdown_table(rows, [c for c in columns if any(c in r for r in rows)])
    notes = "".join(f"\n{r['target']} errors: {r['error kinds']}" for r in rows if r.get("error kinds"))
    direct = next((r for r in rows if r["target"].startswith("/v1/chat/completions (")), None)
    proxied = next((r for r in rows if r["target"].endswith("through the proxy")), None)
    if direct and proxied and direct["requests"] and proxied["requests"]:
        p50 = proxied["p50 ms"] / direct["p50 ms"]
        notes += (f"\nThe proxy against the same chat completions sent directly: p50 x{p50:.2f}, "
                  f"req/s x{proxied['req/s'] / direct['req/s']:.2f} (its own CPU: "
                  f"{proxied['server CPU ms/req']:.0f} ms a request; the LLM's: {direct['server CPU ms/req']:.0f}).")
    notes += ("\nratios: against `/v1/check detection only` in the same run (of the first encoder engine). "
              "server CPU ms/req: CPU time of the "
              "server process per answered request (through the proxy: the proxy's own). detector/llm batch: mean "
              "items per model call during the row (micro-batching).")
    command = " ".join(["benchmarks/bench_serve.py", *sys.argv[1:]])
    body = (f"`.venv/bin/python {command}` ({started}; {os.cpu_count()} cores, shared with other jobs; CPU flags: "
            f"{cpu_flags()}; load average (1/5/15 min) {load_start} at the start, {load_average()} at the end).\n\n"
            f"{table}\n{notes}\n")
    print(body)
    if not args.no_record:
        update_section("Serve: detector encoder engines" if len(engines) > 1
                       else "Serve (srllm serve): load test on loopback", body)


if __name__ == "__main__":
    main()
