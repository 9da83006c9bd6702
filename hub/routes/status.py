"""The visitor's ticket page on their phone, `/t/<token>`, opened from the QR code on the ticket.

It shows the ticket's place in line and, once called, the window; no personal data, only the
line. The page's script (hub/pages/status.js) keeps it current by long-polling
`/t/<token>/state`, which answers as soon as the center's line changes (hub/feed_watch.py) and
otherwise after about half a minute; without scripts the page reloads itself every 15 seconds.

The visitor may give the ticket up from the page (`POST /t/<token>/cancel`, after a
confirmation step): it leaves the line as `cancelled` (hub/queue.py). The unguessable token
in the path is what allows it; no cookie is involved, so a forged cross-site form gains
nothing without the token, and the hub refuses cross-site posts all the same.
"""
from __future__ import annotations

import html
from dataclasses import asdict, dataclass
from pathlib import Path
from string import Template
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from hub.feed_watch import FeedWatch, TooManyWaiting
from hub.hub import Hub
from hub.queue import QueueError
from hub.routes.common import HubDep, hub_of, wait_unless_gone
from mfc_edge.i18n import Translator, people_ahead_text, translator, wait_text

PAGES = Path(__file__).resolve().parent.parent / "pages"
LONG_POLL_S = 25.0  # under the minute most proxies and phone networks keep an idle request open
BUSY_RETRY_S = 10  # a phone told the hub is busy asks again after this long
MAX_TOKEN = 64  # status tokens are 22 characters (mfc_edge/ids.py); anything far longer is not one
OVER = ("done", "cancelled", "no_show", "expired")  # nothing more will happen to the ticket

router = APIRouter(tags=["visitors"])


@dataclass(frozen=True)
class PhoneView:
    """What the phone page shows of a ticket, in one language; the state endpoint's answer."""
    version: int  # the center's feed version it was read at: the next long poll waits for another
    state: str
    number: str  # as printed on the visitor's ticket
    title: str
    service: str
    headline: str  # the line to see from arm's length: the place in line, or the window
    kind: str  # "next" (nobody ahead), "waiting", "called" or "over": how the headline looks
    lines: list[str]
    calls: int  # times called so far, recalls included: the page rings when this grows
    window: str | None
    cancellable: bool
    final: bool  # nothing more will change: the page stops asking


def phone_view(hub: Hub, status_token: str, lang: str) -> tuple[str, PhoneView] | None:
    """The ticket's center and view, or None for an unknown token. The version is read before the
    ticket, so a change made in between is seen by the next poll rather than lost."""
    ticket = hub.queue.ticket_by_token(status_token) if len(status_token) <= MAX_TOKEN else None
    if ticket is None:
        return None
    version = hub.db.feed_version(ticket["center"])
    ticket = hub.queue.ticket_by_token(status_token) or ticket
    t = translator(lang)
    # The number on the visitor's paper; the hub may call it by another (hub/placement.py).
    printed = ticket["printed_number"] or ticket["number"]
    state, lines = ticket["state"], []
    if state in ("called", "serving"):
        headline, kind = t("Please go to window {window}").format(window=ticket["window"]), "called"
    elif state == "waiting":
        estimate = hub.queue.estimates.estimate(ticket)  # by the rule of the kiosks' figure for a new ticket
        if estimate.ahead == 0:  # said as a call to get ready, more than the kiosk's "nobody ahead"
            headline, kind = t("You are the next in line"), "next"
        else:
            headline, kind = people_ahead_text(t, estimate.ahead), "waiting"
        lines.append(wait_text(t, estimate.minutes))
    elif state == "held":  # stepped away (to pay a fee, make a copy): their window calls them back
        headline, kind = t("Window {window} will call you back").format(window=ticket["window"]), "waiting"
        lines.append(t("Your place is kept. Come back when you are ready; this page will tell you."))
    else:
        headline, kind = _over_text(t, state), "over"
    if printed != ticket["number"] and state in ("waiting", "called", "serving"):
        lines.insert(0, t("Your ticket {printed} will be called as {number}").format(
            printed=printed, number=ticket["number"]))
    return ticket["center"], PhoneView(
        version=version, state=state, number=printed, title=t("Ticket {number}").format(number=printed),
        service=hub.catalogs.for_center(ticket["center"]).name(ticket["service"], lang),
        headline=headline, kind=kind, lines=lines, calls=hub.queue.times_called(ticket["id"]),
        window=ticket["window"] if state in ("called", "serving") else None,
        cancellable=state == "waiting", final=state in OVER)


def _over_text(t: Translator, state: str) -> str:
    if state == "done":
        return t("You have been served. Thank you for your visit!")
    if state == "cancelled":
        return t("You have cancelled this ticket. It will not be called.")
    return t("This ticket is no longer in line. Please ask a consultant in the hall.")


def _lang(lang: str) -> str:
    return "en" if lang == "en" else "ru"


@router.get("/t/{status_token}", response_class=HTMLResponse)
def ticket_status(status_token: str, hub: HubDep, lang: str = "ru", cancel: str = "") -> HTMLResponse:
    """The page; `cancel=1` asks the visitor to confirm giving the ticket up."""
    page, status = status_page(hub, status_token, _lang(lang), confirm=cancel == "1")
    return HTMLResponse(page, status_code=status, headers={"Cache-Control": "no-store"})


def status_page(hub: Hub, status_token: str, lang: str, confirm: bool = False, note: str = "") -> tuple[str, int]:
    """The page's HTML and status: 404 for an unknown token. `note`: a line above the rest, such
    as why a cancel was refused."""
    t = translator(lang)
    found = phone_view(hub, status_token, lang)
    other = "en" if lang == "ru" else "ru"
    here = f"/t/{status_token}"
    fields = dict(lang=lang, other_lang_link=html.escape(f"{here}?lang={other}"),
                  other_lang_name="English" if other == "en" else "Русский",
                  refresh=html.escape(t("The page updates itself every 15 seconds.")),
                  live=html.escape(t("The page updates itself as soon as the line moves.")),
                  sound_off=html.escape(t("Turn on sound")), sound_on=html.escape(t("Sound is on")),
                  offline=html.escape(t("No connection: the page shows what it last knew.")),
                  note=f'<p class="note">{html.escape(note)}</p>' if note else "")
    if found is None:
        missing = t("Check the link in the QR code on your ticket.")
        view = PhoneView(version=0, state="unknown", number="", title=t("Ticket not found"), service="",
                         headline=missing, kind="over", lines=[], calls=0, window=None, cancellable=False, final=True)
        status = 404
    else:
        view, status = found[1], 200
    return Template((PAGES / "status.html").read_text(encoding="utf-8")).substitute(
        **fields, title=html.escape(view.title), service=html.escape(view.service),
        headline=html.escape(view.headline), kind=view.kind, state=view.state, version=view.version,
        calls=view.calls, final="1" if view.final else "",
        lines="".join(f"<p>{html.escape(line)}</p>" for line in view.lines),
        cancel=_cancel_part(t, view, here, lang, confirm)), status


def _cancel_part(t: Translator, view: PhoneView, here: str, lang: str, confirm: bool) -> str:
    """The button that leads to the confirmation, or the confirmation itself: a form, so that
    it works without scripts, and a way back."""
    if not view.cancellable:
        return ""
    if not confirm:
        return (f'<a class="button quiet" id="cancel-ticket" href="{html.escape(here)}?lang={lang}&amp;cancel=1">'
                f'{html.escape(t("Cancel my ticket"))}</a>')
    question = t("Cancel ticket {number}? You will not be called, and the ticket cannot be restored.").format(
        number=view.number)
    return (f'<p class="question">{html.escape(question)}</p>'
            f'<form method="post" action="{html.escape(here)}/cancel?lang={lang}">'
            f'<button class="button danger" id="confirm-cancel" type="submit">'
            f'{html.escape(t("Yes, cancel the ticket"))}</button></form>'
            f'<a class="button" id="keep-ticket" href="{html.escape(here)}?lang={lang}">'
            f'{html.escape(t("No, stay in line"))}</a>')


@router.get("/t/{status_token}/state", responses={404: {"description": "no such ticket"},
                                                  503: {"description": "too many phones wait: ask again later"}})
async def ticket_state(status_token: str, request: Request, after: int | None = None, lang: str = "ru") -> Response:
    """The ticket's view as JSON. With `after` (the version of the view the page shows), an
    unchanged line is waited for, up to LONG_POLL_S seconds, before answering."""
    hub, lang = hub_of(request), _lang(lang)
    found = await run_in_threadpool(phone_view, hub, status_token, lang)
    if found is None:
        raise HTTPException(404, "no such ticket")
    center, view = found
    if after is not None and view.version == after and not view.final:
        watch: FeedWatch = request.app.state.feed_watch
        try:
            await wait_unless_gone(request, watch.wait(center, status_token, after, LONG_POLL_S))
        except TooManyWaiting:
            return JSONResponse({"detail": "too many phones wait: ask again later"}, status_code=503,
                                headers={"Retry-After": str(BUSY_RETRY_S), "Cache-Control": "no-store"})
        found = await run_in_threadpool(phone_view, hub, status_token, lang)
        if found is None:  # cannot happen: tickets are never deleted; answered like an unknown token all the same
            raise HTTPException(404, "no such ticket")
        view = found[1]
    return JSONResponse(asdict(view), headers={"Cache-Control": "no-store"})


@router.post("/t/{status_token}/cancel", status_code=303,
             responses={303: {"description": "cancelled (or already): back to the page"},
                        403: {"description": "posted from another site"}, 404: {"description": "no such ticket"},
                        409: {"description": "the ticket is no longer waiting"}})
def cancel_ticket(status_token: str, request: Request, hub: HubDep, lang: str = "ru") -> Response:
    """Give the ticket up; idempotent. Answers with the page (a redirect to it) either way."""
    lang = _lang(lang)
    if not _same_origin(request):
        raise HTTPException(403, "a ticket is cancelled from its own page only")
    try:
        ticket = hub.queue.cancel(status_token) if len(status_token) <= MAX_TOKEN else None
    except QueueError:
        page, _ = status_page(hub, status_token, lang, note=translator(lang)("This ticket can no longer be cancelled."))
        return HTMLResponse(page, status_code=409, headers={"Cache-Control": "no-store"})
    if ticket is None:
        page, status = status_page(hub, status_token, lang)
        return HTMLResponse(page, status_code=status)
    return RedirectResponse(f"/t/{status_token}?lang={lang}", status_code=303)


def _same_origin(request: Request) -> bool:
    """Whether the post came from the hub's own pages. Browsers say so in Sec-Fetch-Site. The
    Origin header cannot be compared instead: under the hub's no-referrer policy a browser sends
    "null" for its own forms. Clients that send neither (scripts, old browsers) hold the token."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin in (None, "null"):
        return True
    return urlsplit(origin).netloc == request.headers.get("host", "")
