"""The review web app: one self-contained page (inline JS and CSS, nothing from a CDN) over a `ReviewStore`.

GET  /                         the page
GET  /api/state                file names, counts, the index to start at (the first unreviewed record)
GET  /api/records/{index}      one record: text, highlighted spans, labels, rewrite, rationale, its review
POST /api/records/{index}      {"action": "accept" | "reject" | "save", "fields": {...}}: decide, save, answer the
                               record and the new counts
"""

from __future__ import annotations

import threading
from importlib import resources
from typing import Any, Literal

from srllm.data.review.store import EDITABLE, ReviewStore
from srllm.errors import SrllmDataError

__all__ = ["create_review_app", "run_review"]


def _page() -> str:
    return resources.files("srllm.data.review").joinpath("page.html").read_text(encoding="utf-8")


def _state(store: ReviewStore) -> dict[str, Any]:
    first = store.first_unreviewed()
    return {"file": str(store.path), "out": str(store.out), "reviewer": store.reviewer, "counts": store.counts(),
            "first_unreviewed": first, "start": first if first is not None else 0}


def _record(store: ReviewStore, index: int) -> dict[str, Any]:
    item = store.items[index]
    m = item.model
    if item.kind == "record":
        labels = {k: getattr(m, k) for k in ("bias", "toxicity", "sentiment", "harm", "categories", "source", "split")}
        rewrite_field = "rewrite"
    else:
        top = sorted(m.categories.items(), key=lambda kv: -kv[1])[:5]
        labels = {"unsafe": m.unsafe, "severity": m.severity, "action": m.action,
                  "categories": [f"{k} {p:.2f}" for k, p in top]}
        rewrite_field = "output"
    return {"index": index, "id": item.id, "line": item.line, "kind": item.kind, "text": item.text,
            "spans": item.spans(), "biased_words": list(getattr(m, "biased_words", []) or []),
            "labels": {k: v for k, v in labels.items() if v not in (None, [])},
            "rationale": getattr(m, "rationale", None) or getattr(m, "reason", None),
            "rewrite_field": rewrite_field, "editable": EDITABLE[item.kind], "original": item.values(),
            "values": store.current(item), "review": store.reviews.get(item.id)}


def create_review_app(store: ReviewStore):
    """The FastAPI app of the review page over `store` (tests run it in-process with TestClient)."""
    from fastapi import Body, FastAPI, HTTPException
    from fastapi.responses import HTMLResponse, JSONResponse

    app = FastAPI(title="srllm review", docs_url=None, redoc_url=None, openapi_url=None)
    page = _page()

    def check_index(index: int) -> None:
        if not 0 <= index < len(store.items):
            raise HTTPException(404, f"no record {index}: {store.path} has {len(store.items)} (0 to "
                                     f"{len(store.items) - 1})")

    @app.get("/", response_class=HTMLResponse)
    def index_page() -> str:
        return page

    @app.get("/api/state")
    def state() -> dict:
        return _state(store)

    @app.get("/api/records/{index}")
    def record(index: int) -> dict:
        check_index(index)
        return _record(store, index)

    @app.post("/api/records/{index}")
    def decide(index: int, action: Literal["accept", "reject", "save"] = Body(..., embed=True),
               fields: dict[str, Any] | None = Body(None, embed=True)):
        check_index(index)
        try:
            store.decide(index, action, fields)
        except SrllmDataError as e:
            return JSONResponse({"detail": str(e), "field": e.field}, status_code=422)
        return {"record": _record(store, index), "state": _state(store)}

    return app


def run_review(store: ReviewStore, *, host: str = "127.0.0.1", port: int = 8765, open_browser: bool = True,
               on_ready=print) -> None:
    """Serve the review page until Ctrl-C; `on_ready(url)` is called once it listens (port 0: any free port)."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(create_review_app(store), host=host, port=port, access_log=False,
                                           log_level="warning"))

    def announce() -> None:
        while not server.started:
            if server.should_exit:
                return
            threading.Event().wait(0.05)
        bound = server.servers[0].sockets[0].getsockname()[1]
        url = f"http://{'[' + host + ']' if ':' in host else host}:{bound}/"
        on_ready(url)
        if open_browser:
            import webbrowser

            webbrowser.open(url)

    threading.Thread(target=announce, daemon=True).start()
    server.run()
