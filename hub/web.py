"""Pages people open in a browser: the operator console and the ticket status page."""
from __future__ import annotations

import html
import json
from pathlib import Path
from string import Template
from typing import Any, Callable

from fastapi import APIRouter, Cookie, Depends, HTTPException, Request, Response
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import BaseModel, Field

from hub.operators import SUPERVISOR, Operator, SignInError
from hub.queue import QueueError
from mfc_edge.i18n import translator

SESSION_COOKIE = "mfc_session"
PAGES = Path(__file__).parent / "pages"


class SignIn(BaseModel):
    center: str = Field(min_length=1, max_length=40)
    login: str = Field(min_length=1, max_length=60)
    password: str = Field(min_length=1, max_length=200)


class WindowAction(BaseModel):
    window: str = Field(pattern=r"^[0-9A-Za-zА-Яа-я-]{1,8}$")


class OpenWindow(WindowAction):
    services: list[str] = Field(min_length=1, max_length=100)


class Transfer(WindowAction):
    to_service: str = Field(min_length=1, max_length=64)


def queue_reply(action) -> dict[str, Any]:
    """Run one operator action; a wrong moment is a 409 with a message for the operator."""
    try:
        ticket = action()
    except QueueError as exc:
        raise HTTPException(409, str(exc)) from None
    return {"ticket": ticket and {"number": ticket["number"], "state": ticket["state"], "service": ticket["service"]}}


def operator_auth(hub: Any) -> Callable[..., Operator]:
    """A FastAPI dependency giving the operator signed in with the session cookie, or 401."""

    def operator(mfc_session: str | None = Cookie(default=None)) -> Operator:
        found = hub.operators.session(mfc_session)
        if found is None:
            raise HTTPException(401, "signed out: sign in again")
        return found

    return operator


def supervisor_auth(hub: Any) -> Callable[..., Operator]:
    """A FastAPI dependency giving the signed-in operator if a supervisor, or 403."""
    operator = operator_auth(hub)

    def supervisor(who: Operator = Depends(operator)) -> Operator:
        if who.role != SUPERVISOR:
            raise HTTPException(403, "only a supervisor can do this")
        return who
    return supervisor


def web_routes(hub: Any) -> APIRouter:
    router = APIRouter()
    operator, supervisor = operator_auth(hub), supervisor_auth(hub)

    def holding(who: Operator, window: str) -> None:
        """Operators act at the window they opened; supervisors at any window of their center."""
        held = hub.queue.window(who.center, window)
        if held and held["operator"] not in (None, who.login) and who.role != SUPERVISOR:
            raise HTTPException(409, f"window {window} is open by another operator")

    @router.get("/console", response_class=FileResponse, include_in_schema=False)
    def console_page() -> FileResponse:
        return FileResponse(PAGES / "console.html", media_type="text/html; charset=utf-8")

    @router.post("/console/api/sign-in", tags=["console"])
    def sign_in(form: SignIn, request: Request, response: Response) -> dict[str, str]:
        try:
            who, token = hub.operators.sign_in(form.center, form.login, form.password)
        except SignInError as exc:
            raise HTTPException(401, str(exc)) from None
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https", max_age=int(hub.operators.session_ttl.total_seconds()))
        return {"name": who.name, "role": who.role, "center": who.center}

    @router.post("/console/api/sign-out", tags=["console"])
    def sign_out(response: Response, mfc_session: str | None = Cookie(default=None)) -> dict[str, str]:
        if mfc_session:
            hub.operators.sign_out(mfc_session)
        response.delete_cookie(SESSION_COOKIE)
        return {"status": "signed out"}

    @router.get("/console/api/state", tags=["console"])
    def state(window: str = "", who: Operator = Depends(operator)) -> dict[str, Any]:
        queue = hub.queue
        current = queue.current(who.center, window) if window else None
        held = queue.window(who.center, window) if window else None
        return {
            "operator": {"name": who.name, "role": who.role, "center": who.center},
            "window": held and {"services": json.loads(held["services"] or "[]"), "mine": held["operator"] == who.login},
            "services": [{"id": s.id, "name": s.name.ru} for s in hub.catalog.services],
            "waiting": queue.waiting(who.center),
            "current": current and {"number": current["number"], "service": current["service"],
                                    "state": current["state"], "priority": bool(current["priority"])},
            "calls": [c.__dict__ for c in queue.recent_calls(who.center)],
        }

    @router.post("/console/api/open-window", tags=["console"])
    def open_window(body: OpenWindow, who: Operator = Depends(operator)) -> dict[str, str]:
        unknown = [s for s in body.services if s not in hub.service_ids]
        if unknown:
            raise HTTPException(422, f"unknown service {unknown[0]!r}")
        try:
            hub.queue.open_window(who.center, body.window, body.services, who.login,
                                  take_over=who.role == SUPERVISOR)
        except QueueError as exc:
            raise HTTPException(409, str(exc)) from None
        return {"status": "open"}

    @router.post("/console/api/close-window", tags=["console"])
    def close_window(body: WindowAction, who: Operator = Depends(operator)) -> dict[str, str]:
        holding(who, body.window)
        try:
            hub.queue.close_window(who.center, body.window)
        except QueueError as exc:
            raise HTTPException(409, str(exc)) from None
        return {"status": "closed"}

    @router.get("/console/api/hall", tags=["console"],
                responses={403: {"description": "the signed-in operator is not a supervisor"}})
    def hall(who: Operator = Depends(supervisor)) -> dict[str, Any]:
        """Every open window with its operator and visitor, and the day's figures per service."""
        return {"windows": hub.hall.windows(who.center), "today": hub.hall.today(who.center)}

    @router.post("/console/api/call-next", tags=["console"])
    def call_next(body: WindowAction, who: Operator = Depends(operator)) -> dict[str, Any]:
        holding(who, body.window)
        services = hub.queue.window_services(who.center, body.window)
        return queue_reply(lambda: hub.queue.call_next(who.center, body.window, services))

    # The same few lines for each action on the visitor at a window.
    for path, method in (("recall", "recall"), ("start", "start"), ("finish", "finish"), ("no-show", "no_show")):
        def endpoint(body: WindowAction, who: Operator = Depends(operator), method=method) -> dict[str, Any]:
            holding(who, body.window)
            return queue_reply(lambda: getattr(hub.queue, method)(who.center, body.window))
        router.add_api_route(f"/console/api/{path}", endpoint, methods=["POST"], tags=["console"],
                             name=f"console_{method}")

    @router.post("/console/api/transfer", tags=["console"])
    def transfer(body: Transfer, who: Operator = Depends(operator)) -> dict[str, Any]:
        if body.to_service not in hub.service_ids:
            raise HTTPException(422, f"unknown service {body.to_service!r}")
        holding(who, body.window)
        return queue_reply(lambda: hub.queue.transfer(who.center, body.window, body.to_service))

    @router.get("/t/{status_token}", response_class=HTMLResponse, tags=["visitors"])
    def ticket_status(status_token: str, lang: str = "ru") -> HTMLResponse:
        page, status = status_page(hub, status_token, "en" if lang == "en" else "ru")
        return HTMLResponse(page, status_code=status)

    return router


def status_page(hub: Any, status_token: str, lang: str) -> tuple[str, int]:
    """The visitor's phone view of a ticket: no personal data, only the line and the window."""
    t = translator(lang)
    ticket = hub.queue.ticket_by_token(status_token) if len(status_token) <= 64 else None
    if ticket is None:
        title, lines, status = t("Ticket not found"), [t("Check the link in the QR code on your ticket.")], 404
    else:
        status = 200
        service = hub.catalog.service(ticket["service"]).name(lang) if ticket["service"] in hub.service_ids \
            else ticket["service"]
        title = t("Ticket {number}").format(number=ticket["number"])
        if ticket["state"] in ("called", "serving"):
            lines = [t("Please go to window {window}").format(window=ticket["window"])]
        elif ticket["state"] == "waiting":
            ahead = hub.queue.people_ahead(ticket)
            lines = [t.n("{n} person ahead of you", "{n} people ahead of you", ahead).format(n=ahead)
                     if ahead else t("You are next"),
                     t("Estimated wait: about {m} min").format(m=max(1, hub.queue.estimate_minutes(ticket)))]
        elif ticket["state"] == "done":
            lines = [t("You have been served. Thank you for your visit!")]
        else:
            lines = [t("This ticket is no longer in line. Please ask a consultant in the hall.")]
        lines.insert(0, service)
    other = "en" if lang == "ru" else "ru"
    page = Template((PAGES / "status.html").read_text(encoding="utf-8")).substitute(
        lang=lang, title=html.escape(title),
        lines="".join(f"<p>{html.escape(line)}</p>" for line in lines),
        other_lang_link=f"?lang={other}", other_lang_name="English" if other == "en" else "Русский",
        refresh=html.escape(t("The page updates itself every 15 seconds.")))
    return page, status
