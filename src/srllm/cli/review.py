"""`srllm review`: a thin shell over srllm.data.review."""

from __future__ import annotations

from pathlib import Path

import typer

from srllm.cli._app import app, err_console, friendly_errors


@app.command("review")
@friendly_errors
def review_command(
    file: Path = typer.Argument(..., help="CMD JSONL to review: the output of `srllm check`, `srllm annotate` or "
                                "`srllm data build`."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Review file, one line per reviewed record, rewritten "
                                    "atomically after every decision (default: <FILE stem>.review.jsonl)."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on (loopback: only this machine)."),
    port: int = typer.Option(8765, help="Port to listen on (0: any free port)."),
    open_browser: bool = typer.Option(True, "--open/--no-open", help="Open the page in the default browser."),
    reviewer: str | None = typer.Option(None, help="Name stored with each decision (default: the login name)."),
    export: Path | None = typer.Option(None, "--export", help="Do not serve: write FILE's records with the review "
                                       "applied (rejected dropped, corrections merged) to this JSONL and exit."),
    reviewed_only: bool = typer.Option(False, help="With --export: leave out records not reviewed yet."),
):
    """Review records in a local web page with the keyboard: a accept, r reject, e edit the rewrite and labels
    (Ctrl+Enter saves), j/k or arrows to move. Every decision is saved at once; re-opening resumes at the first
    record not reviewed. Stop with Ctrl-C."""
    from srllm.data.review import ReviewStore, export_reviewed

    if export is not None:
        stats = export_reviewed(file, export, review=out, reviewed_only=reviewed_only)
        print(f"wrote {stats.kept} records to {export} ({stats.corrected} corrected, {stats.unreviewed} not reviewed"
              f"{' and left out' if reviewed_only else ''}); dropped {stats.rejected} rejected")
        return
    from srllm.data.review import run_review

    store = ReviewStore(file, out=out, reviewer=reviewer)
    c = store.counts()

    def ready(url: str) -> None:
        err_console.print(f"reviewing {file}: {c['reviewed']} of {c['total']} reviewed; decisions go to {store.out}")
        print(f"review page: {url}  (Ctrl-C to stop)", flush=True)

    run_review(store, host=host, port=port, open_browser=open_browser, on_ready=ready)
