"""Human review of CMD records (`srllm review`): accept, correct or reject each record of a `srllm check`,
`srllm annotate` or `srllm data build` JSONL in a local web page, saved after every decision (`store`), and the
export of the records with the review applied. The web app (`app`) needs the `serve` extra (FastAPI, uvicorn)."""

from srllm.data.review.store import (
    EDITABLE,
    ExportStats,
    ReviewItem,
    ReviewStore,
    default_review_path,
    export_reviewed,
    load_items,
)

__all__ = ["EDITABLE", "ExportStats", "ReviewItem", "ReviewStore", "default_review_path", "export_reviewed",
           "load_items", "create_review_app", "run_review"]


def __getattr__(name: str):
    if name in ("create_review_app", "run_review"):  # FastAPI is imported only when the app is asked for
        from srllm.data.review import app

        return getattr(app, name)
    raise AttributeError(name)
