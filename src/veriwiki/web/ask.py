"""Ask: a question box over the ``ask`` service, one model per server, queued requests.

Questions are answered one at a time on a thread of their own (with its own vault
handles), so a slow model never holds up page views or saves. The model is opened once,
on the first question, and kept for the server's life. A question gets a page
(``/ask/ID``) that shows its place in the queue, the retrieval progress and then the
answer with its verified citations; the page refreshes itself without JavaScript. A
question still unanswered after the model's time limit (``[llm] timeout_seconds``) plus
a margin is reported as timed out; the queue holds at most :data:`MAX_QUEUED` questions.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from veriwiki.errors import InputError, PageNotFoundError, VeriwikiError
from veriwiki.web.context import WebContext
from veriwiki.web.security import path_url

MAX_QUEUED = 20
MAX_KEPT = 200
MAX_QUESTION = 2000
MARGIN_SECONDS = 60.0


@dataclass
class AskJob:
    """One question and what became of it."""

    id: str
    question: str
    extract_only: bool
    state: str = "queued"  # queued, running, done, failed
    progress: tuple[int, int] = (0, 0)
    answer: dict[str, Any] | None = None
    error: str | None = None
    hint: str | None = None
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None


class AskQueue:
    """The server's one model and its queue of questions."""

    def __init__(self, root: Path, *, trust: bool = False, model: Any = None) -> None:
        self.root = root
        self.trust = trust
        self._model = model
        self._embedder: Any = None
        self._opened = model is not None
        self._vault: Any = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="veriwiki-ask")
        self._lock = threading.Lock()
        self.jobs: OrderedDict[str, AskJob] = OrderedDict()
        self.limit_seconds = 300.0 + MARGIN_SECONDS

    def submit(self, question: str, extract_only: bool) -> AskJob:
        """Queue a question (refused when the queue is full)."""
        question = " ".join(question.split())
        if not any(c.isalnum() for c in question):
            raise InputError("the question is empty", hint="ask e.g. What is RoPE?")
        if len(question) > MAX_QUESTION:
            raise InputError(f"the question is over {MAX_QUESTION} characters",
                             hint="ask a shorter question")
        with self._lock:
            waiting = sum(1 for j in self.jobs.values() if j.state in ("queued", "running"))
            if waiting >= MAX_QUEUED:
                raise InputError(f"{waiting} questions are waiting already",
                                 hint="try again when one is answered")
            job = AskJob(secrets.token_urlsafe(9), question, extract_only)
            self.jobs[job.id] = job
            while len(self.jobs) > MAX_KEPT:
                self.jobs.popitem(last=False)
        self._pool.submit(self._run, job)
        return job

    def position(self, job: AskJob) -> int:
        """How many questions are answered before this one (0: it is being answered)."""
        with self._lock:
            ahead = [j for j in self.jobs.values() if j.state in ("queued", "running")
                     and j.created < job.created]
        return len(ahead)

    def timed_out(self, job: AskJob) -> bool:
        """True when the answer is overdue (the model's limit and a margin have passed)."""
        return job.state == "running" and job.started is not None and \
            time.time() - job.started > self.limit_seconds

    def _open(self) -> None:
        from dataclasses import replace

        from veriwiki.vault import model_for, open_vault

        if self._vault is None:
            vault = open_vault(self.root)
            vault.sandbox = replace(vault.sandbox, trust=self.trust)
            self._vault = vault
        settings = self._vault.config.llm
        self.limit_seconds = float(settings.timeout_seconds) + MARGIN_SECONDS
        if not self._opened:
            from veriwiki.adapters.llm_provider import open_embedding_model, open_text_model

            model_id = model_for(self._vault, "writer")
            assert model_id is not None
            self._model = open_text_model(model_id, context_tokens=settings.context_tokens,
                                          threads=settings.threads,
                                          timeout=settings.timeout_seconds)
            embed_id = model_for(self._vault, "embedder")
            self._embedder = open_embedding_model(embed_id) if embed_id else None
            self._opened = True

    def _run(self, job: AskJob) -> None:
        from veriwiki.services.ask import answer_question

        if job.state != "queued":
            return  # dropped when the server stopped
        job.state, job.started = "running", time.time()
        try:
            self._open()

            def progress(done: int, total: int) -> None:
                job.progress = (done, total)

            answer = answer_question(self._vault, job.question, self._model,
                                     embedder=self._embedder, on_progress=progress,
                                     extract_only=job.extract_only)
            job.answer = answer.to_json()
            job.state = "done"
        except VeriwikiError as exc:
            job.state, job.error, job.hint = "failed", str(exc), exc.hint
        except Exception as exc:  # noqa: BLE001 - the page says what happened
            job.state, job.error = "failed", f"internal error: {type(exc).__name__}: {exc}"
        finally:
            job.finished = time.time()

    def close(self) -> None:
        """Drop the waiting questions and release the vault (on its own thread); a new
        thread takes the next question if the app starts again."""
        with self._lock:
            for job in self.jobs.values():
                if job.state == "queued":
                    job.state, job.error = "failed", "the server stopped before answering"
        old, self._pool = self._pool, ThreadPoolExecutor(max_workers=1,
                                                         thread_name_prefix="veriwiki-ask")

        def release() -> None:
            if self._vault is not None:
                self._vault.close()
                self._vault = None

        old.submit(release)
        old.shutdown(wait=False)


def _view(queue: AskQueue, job: AskJob) -> dict[str, Any]:
    """What the page and the JSON status show of a job."""
    state = "timed-out" if queue.timed_out(job) else job.state
    data: dict[str, Any] = {"id": job.id, "question": job.question, "state": state,
                            "position": queue.position(job) if state == "queued" else 0,
                            "progress": list(job.progress), "error": job.error,
                            "hint": job.hint, "answer": job.answer,
                            "seconds": round((job.finished or time.time())
                                             - (job.started or job.created), 1)}
    if state == "timed-out":
        data["error"] = (f"no answer after {queue.limit_seconds:g} s; the model's time limit "
                         "([llm] timeout_seconds) has passed")
        data["hint"] = "ask again with 'quote the wiki only', or a shorter question"
    return data


def _links(answer: dict[str, Any] | None) -> dict[str, str]:
    """App URLs of the cited lines (``path:line`` → ``/w/…#L…``)."""
    out: dict[str, str] = {}
    for item in (answer or {}).get("citations", []) + (answer or {}).get("extracted", []):
        path, line = item.get("path"), item.get("line")
        if isinstance(path, str) and path.lower().endswith(".md") and isinstance(line, int):
            out[f"{path}:{line}"] = f"{path_url(path)}#L{line}"
    return out


def routes(ctx: WebContext) -> list[BaseRoute]:
    """The question box, a question's page and its JSON status."""
    queue: AskQueue = ctx.services.setdefault(
        "ask", AskQueue(ctx.vault_root, trust=ctx.trust, model=ctx.options.get("ask_model")))

    async def ask(request: Request) -> Response:
        if request.method == "POST":
            form = await request.form()
            question = str(form.get("question") or "")
            job = queue.submit(question, bool(form.get("extract")))
            return RedirectResponse(f"/ask/{job.id}", status_code=303)
        recent = [_view(queue, j) for j in reversed(queue.jobs.values())][:10]
        return ctx.render(request, "web_ask.html", title="Ask", job=None, recent=recent,
                          main_class="wide")

    def _job(request: Request) -> AskJob:
        job = queue.jobs.get(request.path_params["id"])
        if job is None:
            raise PageNotFoundError("no such question (answers are kept while the server "
                                    "runs)", hint="ask it again")
        return job

    async def show(request: Request) -> Response:
        view = _view(queue, _job(request))
        return ctx.render(request, "web_ask.html", title="Ask", job=view, recent=[],
                          links=_links(view["answer"]), main_class="wide",
                          refresh=view["state"] in ("queued", "running"))

    async def status(request: Request) -> Response:
        return JSONResponse(_view(queue, _job(request)))

    return [Route("/ask", ask, methods=["GET", "POST"]), Route("/ask/{id}", show),
            Route("/api/ask/{id}", status)]
