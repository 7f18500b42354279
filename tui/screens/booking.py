"""The booking flow: search, choose a flight and fare, passenger, seat, review and pay, done.

Every step is an active flow (the prompt appears near expiry). Every field change is saved to the
local draft at once and every step change is also pushed to the server (rule 11), so a step can
always be reopened from the draft alone: after a sign-out, a crash or a restart.

Another window (a second instance on the same data dir) may move the same draft on meanwhile.
Each step keeps the revision of the draft it shows and saves based on it; a save that meets a newer
draft writes nothing, and the flow reopens at that draft's step with its values, saying so in one
line (api.drafts: a stale instance never overwrites a newer draft).

Forms are parsed, not just validated (api.forms): what a step sends or saves is the parsed,
normalised value, never the text as typed. They check inline and make no API call while
invalid (edge case 19).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from sessionkeeper.api import forms
from sessionkeeper.api.drafts import SEAT_RELEASED, DraftConflict, LocalDraft
from sessionkeeper.api.errors import ApiError
from sessionkeeper.api.models import Fare, Flight
from sessionkeeper.session.kinds import State
from sessionkeeper.tui import wording
from sessionkeeper.tui.messages import GoBack, GoHome, NextStep, OpenFlow, ShowBookings
from sessionkeeper.tui.screens.base import AppScreen, screen_work

if TYPE_CHECKING:
    from sessionkeeper.api.client import BackendClient

AIRPORTS = ("LHR", "CDG", "AMS", "FRA", "MAD", "FCO", "CPH", "DUB", "LIS", "JFK")
STEPS = ("search", "flights", "passengers", "seats", "review", "confirmation")
TITLES = {step: f"{number} · {wording.STEP_NAMES[step]}" for number, step in enumerate(STEPS, 1)}
FIX_FIELDS = "Please fix the highlighted fields."
CHANGED_ELSEWHERE = "This booking changed in another window: showing its latest."


class BookingStep(AppScreen):
    ACTIVE_FLOW = True
    STEP = "search"
    NEXT_LABEL = "Next"
    # Keys that change the screen are priority bindings: they act as the key arrives, before the
    # keys typed after them are handed to this screen's fields (tui.app, "keys during a screen
    # change"); a plain binding acts only once the key has been to the focused field and back.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", priority=True),
        Binding("ctrl+n", "next", "Next", priority=True),
        # Browsers keep Ctrl+N (tui.widgets.footer.BROWSER_KEEPS): there the footer shows this one.
        Binding("alt+n", "next", "Next", show=False, priority=True),
    ]
    FIELDS: tuple[str, ...] = ()  # inputs whose values are kept in the draft
    # The revision of the draft this step shows (None: none yet): its saves are based on it.
    revision: int | None = None
    _giving_way = False  # a newer draft met: the flow is reopening at its step

    @property
    def data(self) -> dict[str, Any]:
        """The draft as stored now (what a call sends); the fields show it as of `revision`."""
        draft = self.keeper.saved_draft()
        return dict(draft.data) if draft else {}

    def compose_body(self) -> Iterable[Widget]:
        # The revision is read before the fields are filled: a field filled from a newer draft
        # only makes the next save meet it (and show it again); the other way round, a field
        # older than the revision would overwrite what another window saved.
        draft = self.keeper.saved_draft()
        self.revision = draft.revision if draft else None
        with Vertical(id="step", classes=f"step-{self.STEP}"):
            yield Static(TITLES[self.STEP], classes="title")
            yield from self.compose_step()
            yield Static("", id="step-error", classes="field-error", markup=False)
            with Horizontal(classes="step-buttons"):
                yield from self.compose_buttons()

    def compose_buttons(self) -> Iterable[Widget]:
        yield Button("Back (esc)", id="back")
        yield Button(f"{self.NEXT_LABEL} (ctrl+n)", id="next", variant="primary")

    def compose_step(self) -> Iterable[Widget]:
        return ()

    def field(
        self, name: str, label: str, placeholder: str = "", *, password: bool = False
    ) -> Iterable[Widget]:
        yield Label(label)
        value = str(self.data.get(name, "")) if not password else ""
        yield Input(value=value, placeholder=placeholder, id=name, password=password)
        yield Static("", id=f"{name}-error", classes="field-error", markup=False)

    # Textual calls an `on_*` handler of every class in the MRO: steps override the hooks below
    # (`started`, `BUTTONS`), never the handlers themselves.
    BUTTONS: ClassVar[dict[str, str]] = {"next": "next", "back": "back"}  # button id -> action

    def mounted(self) -> None:
        self.started()
        inputs = list(self.query(Input))
        if inputs:
            inputs[0].focus()

    def started(self) -> None:
        """The step's own start: load what it shows."""

    def resumed(self) -> None:
        # Opening or going back to a step is a step change: save it (rule 11), data untouched.
        # Coming back from the QA panel or the prompt is not a step change (and must not make
        # a call, which would move the deadline under the tester's feet).
        # Nor is being uncovered by a prompt that closed because the user was signed out: the
        # signed-out screen follows, and saving here would file the user's step as a guest's.
        view = self.keeper.view()
        if view is not None and view.state is State.SIGNED_OUT:
            return
        draft = self.keeper.saved_draft()
        if not self.keeper.navigating_home and (draft is None or draft.step != self.STEP):
            self.save(self.STEP, push=True)

    # -- the draft this step shows ---------------------------------------------------------------

    def save(self, step: str, updates: dict[str, Any] | None = None, *, push: bool = False) -> bool:
        """Save the draft (rule 11) based on the revision this step shows, through the app, which
        says when the disk refuses. False if another window saved since: nothing was written, and
        the flow gives way to its draft (`give_way`); the caller goes no further."""
        shown = self.revision
        try:
            saved = self.keeper.save_draft(step, updates, push=push, based_on=shown)
        except DraftConflict as conflict:
            self.give_way(conflict.latest)
            return False
        if saved is not None:
            self.shown(shown, saved.revision)
        return True

    def shown(self, was: int | None, now: int) -> None:
        """This window's view of the draft moved from revision `was` to `now` (its own save): so
        did every step of the flow under this one that showed `was`, uncovered later by esc."""
        for screen in self.app.screen_stack:
            if isinstance(screen, BookingStep) and screen.revision == was:
                screen.revision = now
        self.revision = now

    def changed_elsewhere(self) -> bool:
        """Before a call made with the draft: if another window saved it since this step showed
        it, give way to that draft (True) rather than send what this window never showed."""
        draft = self.keeper.saved_draft()
        if draft is None or draft.revision == self.revision:
            return False
        self.give_way(draft)
        return True

    def give_way(self, latest: LocalDraft) -> None:
        """Another window saved the booking since this step showed it: its draft stands. The flow
        reopens at its step, with its values, and says so in one line. What was typed here last
        is not applied on top: it was typed against what this window showed, not that draft."""
        if self._giving_way or self.gone:
            return  # once: the keys that follow wait for the step that comes
        self._giving_way = True
        self.notify(CHANGED_ELSEWHERE, severity="warning")
        self.post_message(OpenFlow(latest.step))

    def value(self, name: str) -> str:
        return self.query_one(f"#{name}", Input).value

    def on_input_changed(self, event: Input.Changed) -> None:
        name = event.input.id or ""
        if name in self.FIELDS and not self.save(self.STEP, {name: event.value}):
            return
        errors = self.errors()
        self.show_errors(errors, only=name)
        if not errors and self.step_error_text() == FIX_FIELDS:
            self.step_error("")  # the fields it asked for are fixed

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        inputs = list(self.query(Input))
        index = inputs.index(event.input)
        if index + 1 < len(inputs):
            inputs[index + 1].focus()
        else:
            self.action_next()

    def parse(self) -> Any:
        """The step's form, parsed: a typed value to go on with, or FormErrors (a dict)."""
        return None

    def errors(self) -> forms.FormErrors:
        parsed = self.parse()
        return parsed if isinstance(parsed, dict) else {}

    def show_errors(self, errors: forms.FormErrors, only: str | None = None) -> None:
        for box in self.query(".field-error"):
            name = (box.id or "").removesuffix("-error")
            if box.id == "step-error" or (only is not None and name != only):
                continue
            if isinstance(box, Static):
                box.update(errors.get(name, ""))

    def step_error(self, text: str) -> None:
        box = self.query_one("#step-error", Static)
        box.update(text)
        box.set_class(bool(text), "shown")
        if text:
            box.scroll_visible()

    def step_error_text(self) -> str:
        return str(self.query_one("#step-error", Static).render())

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        action = self.BUTTONS.get(event.button.id or "")
        if action is not None:
            getattr(self, f"action_{action}")()

    def action_back(self) -> None:
        self.post_message(GoBack())

    def action_next(self) -> None:
        parsed = self.parse()
        if isinstance(parsed, dict):
            self.show_errors(parsed)
            self.step_error(FIX_FIELDS if parsed else "")
            if parsed:
                return  # edge case 19: no API call while the form is invalid
        self.step_error("")
        self.advance(parsed)

    def advance(self, parsed: Any) -> None:
        raise NotImplementedError

    def go(self, step: str) -> None:
        self.post_message(NextStep(step))

    def api_failed(self, exc: ApiError, *, retry: str | None = None) -> None:
        """Edge case 20: a clear error in plain words, the draft kept, no crash; the detail goes
        on the timeline."""
        self.keeper.report(exc, TITLES[self.STEP])
        self.step_error(wording.failure(exc, retry=retry))
        self.keeper.refresh_chrome()


class SearchStep(BookingStep):
    STEP = "search"
    FIELDS = ("origin", "destination", "date")

    def compose_step(self) -> Iterable[Widget]:
        yield Static(f"Airports: {' '.join(AIRPORTS)}", classes="hint")
        yield from self.field("origin", "From (airport code)", "e.g. LHR")
        yield from self.field("destination", "To (airport code)", "e.g. CDG")
        yield from self.field("date", "Date (YYYY-MM-DD)", f"e.g. {self.keeper.today().isoformat()}")

    def parse(self) -> forms.SearchQuery | forms.FormErrors:
        return forms.parse_search(
            self.value("origin"), self.value("destination"), self.value("date"), self.keeper.today(), AIRPORTS
        )

    def advance(self, parsed: forms.SearchQuery) -> None:
        query = parsed
        if self.save(
            "flights",
            {"origin": query.origin, "destination": query.destination, "date": query.date.isoformat()},
        ):
            self.go("flights")


class FlightsStep(BookingStep):
    STEP = "flights"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("r", "reload", "Retry search")]

    def compose_step(self) -> Iterable[Widget]:
        data = self.data
        yield Static(
            f"{data.get('origin', '?')} → {data.get('destination', '?')} on {data.get('date', '?')}",
            markup=False,
        )
        with Horizontal(id="flight-lists"):
            with Vertical(classes="list-column"):
                yield Static("Flight   Departs → Arrives   From", classes="list-header")
                yield OptionList(id="flights")
            with Vertical(classes="list-column"):
                yield Static("Fare                 Price", classes="list-header")
                yield OptionList(id="fares")

    def started(self) -> None:
        self.flights: list[Flight] = []
        self.fares: list[Fare] = []
        self.load_flights()

    def action_reload(self) -> None:
        self.step_error("")
        self.load_flights()

    def _clear(self, which: str) -> None:
        options = self.query_one(f"#{which}", OptionList)
        options.clear_options()
        if which == "flights":
            self.flights = []
        self.fares = []
        self.query_one("#fares", OptionList).clear_options()

    @screen_work(group="flights")
    async def load_flights(self) -> None:
        data = self.data
        flights = self.query_one("#flights", OptionList)
        try:
            query = forms.parse_search(
                str(data.get("origin", "")),
                str(data.get("destination", "")),
                str(data.get("date", "")),
                self.keeper.today(),
                AIRPORTS,
            )
            if isinstance(query, dict):
                self.step_error("The search is incomplete: go back (esc) and fill it in.")
                return
            client = self.keeper.client
            if client is None:
                return
            found = await self.outcome(
                client.rest.search_flights(query.origin, query.destination, query.date), busy=flights
            )
        except ApiError as exc:
            self._clear("flights")  # what was listed is from before: not shown as if current
            self.api_failed(exc, retry="r")
            return
        self._clear("flights")
        self.flights = found
        flights.add_options(
            Option(f"{f.number:<8} {f.departure:%H:%M} → {f.arrival:%H:%M}   {f.price_from}", id=f.id)
            for f in found
        )
        if not found:
            self.step_error("No flights on that day: go back (esc) and pick another date.")
            return
        flights.focus()
        chosen = data.get("flight_id")
        flights.highlighted = next((i for i, f in enumerate(found) if f.id == chosen), 0)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_list.id == "flights" and event.option.id:
            self.load_fares(event.option.id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id == "flights":
            self.query_one("#fares", OptionList).focus()
        elif event.option_list.id == "fares":
            self.action_next()

    @screen_work(group="fares")
    async def load_fares(self, flight_id: str) -> None:
        client = self.keeper.client
        fares = self.query_one("#fares", OptionList)
        if client is None:
            return
        try:
            found = await self.outcome(client.graphql.fares(flight_id), busy=fares)
        except ApiError as exc:
            self._clear("fares")
            self.api_failed(exc, retry="r")
            return
        self.fares = found
        fares.clear_options()
        fares.add_options(Option(f"{fare.name:<20} {fare.price}", id=fare.code) for fare in found)
        chosen = self.data.get("fare_code")
        fares.highlighted = next((i for i, f in enumerate(found) if f.code == chosen), 0)

    def parse(self) -> tuple[Flight, Fare] | forms.FormErrors:
        flight_list = self.query_one("#flights", OptionList)
        fare_list = self.query_one("#fares", OptionList)
        if (
            not self.flights
            or not self.fares
            or flight_list.highlighted is None
            or fare_list.highlighted is None
        ):
            return {"step": "Choose a flight, then a fare."}
        return self.flights[flight_list.highlighted], self.fares[fare_list.highlighted]

    def action_next(self) -> None:
        parsed = self.parse()
        if isinstance(parsed, dict):
            self.step_error(parsed["step"])
            return
        self.step_error("")
        self.advance(parsed)

    def advance(self, parsed: tuple[Flight, Fare]) -> None:
        flight, fare = parsed
        label = f"{flight.number} {flight.origin}→{flight.destination} {flight.departure:%Y-%m-%d %H:%M}"
        if self.save(
            "passengers",
            {
                "flight_id": flight.id,
                "flight_label": label,
                "fare_code": fare.code,
                "fare_label": f"{fare.name} {fare.price}",
            },
        ):
            self.go("passengers")


class PassengersStep(BookingStep):
    STEP = "passengers"
    FIELDS = ("name", "email")

    def compose_step(self) -> Iterable[Widget]:
        yield Static(str(self.data.get("flight_label", "")), classes="hint", markup=False)
        yield from self.field("name", "Full name", "e.g. Ada Lovelace")
        yield from self.field("email", "Email", "e.g. ada@example.com")

    def started(self) -> None:
        data = self.data
        client = self.keeper.client
        profile = client.profile if client is not None else None
        if (
            "name" not in data
            and profile is not None
            and self.save(self.STEP, {"name": profile.name, "email": profile.email})
        ):
            self.query_one("#name", Input).value = profile.name
            self.query_one("#email", Input).value = profile.email

    def parse(self) -> forms.Passenger | forms.FormErrors:
        return forms.parse_passenger(self.value("name"), self.value("email"))

    def advance(self, parsed: forms.Passenger) -> None:
        if self.save("seats", parsed.as_json()):
            self.go("seats")


class SeatsStep(BookingStep):
    STEP = "seats"
    FIELDS = ("seat",)

    def compose_step(self) -> Iterable[Widget]:
        yield Static("", id="seat-map", markup=False)
        yield from self.field("seat", "Seat", "e.g. 12C")

    def started(self) -> None:
        self.available: set[str] = set()
        self.load_seats()

    def resumed(self) -> None:
        super().resumed()
        data = self.data
        released = data.get(SEAT_RELEASED)
        if data.get("seat") or not released:
            return
        self.step_error(wording.seat_released(str(released), go_back=False))
        if self.value("seat") == released:
            # Uncovered by going back from review: the field and the map show the seat as it was.
            self.query_one("#seat", Input).value = ""
            self.available = set()
            self.load_seats()

    @screen_work(group="seats")
    async def load_seats(self) -> None:
        client = self.keeper.client
        seat_map_box = self.query_one("#seat-map", Static)
        if client is None:
            return
        try:
            seat_map = await self.outcome(
                client.graphql.seat_map(str(self.data.get("flight_id", ""))), busy=seat_map_box
            )
        except ApiError as exc:
            self.api_failed(exc)
            return
        marks = {"AVAILABLE": "·", "OCCUPIED": "x", "HELD": "h", "HELD_BY_YOU": "*"}
        free = ("AVAILABLE", "HELD_BY_YOU")
        lines = ["     " + " ".join(seat_map.columns)]
        for row in seat_map.rows[:12]:
            lines.append(f"{row.number:>3}  " + " ".join(marks.get(s.status, "?") for s in row.seats))
        for row in seat_map.rows:
            self.available.update(s.code for s in row.seats if s.status in free)
        lines.append("·  free   x  taken   h  held   *  yours")
        seat_map_box.update("\n".join(lines))
        first_free = next((s.code for row in seat_map.rows for s in row.seats if s.status in free), None)
        if first_free is not None:
            self.query_one("#seat", Input).placeholder = f"e.g. {first_free} (free)"

    def parse(self) -> str | forms.FormErrors:
        return forms.parse_seat(self.value("seat"), self.available)

    def advance(self, parsed: str) -> None:
        self.hold(parsed)

    @screen_work(group="hold")
    async def hold(self, seat: str) -> None:
        client = self.keeper.client
        if client is None:
            return
        server_id = await self.outcome(self.keeper.push_draft())
        if server_id is None:
            self.step_error(
                "Couldn't save your draft on the server. It is saved here; try again in a moment."
            )
            return
        if self.changed_elsewhere():
            return  # no seat held for a flight this window may no longer show
        try:
            await self.outcome(client.graphql.hold_seat(str(self.data.get("flight_id", "")), seat, server_id))
        except ApiError as exc:
            self.api_failed(exc)
            return
        if self.save("review", {"seat": seat, SEAT_RELEASED: None}):  # a seat again
            self.go("review")


class ReviewStep(BookingStep):
    STEP = "review"
    NEXT_LABEL = "Pay"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+n", "next", "Pay", priority=True),
        Binding("alt+n", "next", "Pay", show=False, priority=True),
    ]
    FIELDS = ("expiry",)  # the card number and the CVC are never stored
    _paying: asyncio.Task[None] | None = None  # the payment out (or the last one made) from here

    def compose_step(self) -> Iterable[Widget]:
        data = self.data
        yield Static(
            f"{data.get('flight_label', '?')}\n{data.get('fare_label', '?')} · seat {data.get('seat', '?')}\n"
            f"{data.get('name', '?')} <{data.get('email', '?')}>",
            id="summary",
            markup=False,  # what the person typed: shown as typed
        )
        yield from self.field("card_number", "Card number (test card: 4111 1111 1111 1111)", "16 digits")
        yield from self.field("expiry", "Expiry", "MM/YY")
        yield from self.field("cvc", "CVC", "3 digits", password=True)

    def parse(self) -> forms.Payment | forms.FormErrors:
        return forms.parse_payment(
            self.value("card_number"), self.value("expiry"), self.value("cvc"), self.keeper.today()
        )

    def advance(self, parsed: forms.Payment) -> None:
        self.pay(parsed)

    @screen_work(group="pay")
    async def pay(self, payment: forms.Payment) -> None:
        client = self.keeper.client
        if client is None:
            return
        paying = self._paying
        if paying is None or paying.cancelled() or (paying.done() and paying.exception() is not None):
            # No payment out, or the last one failed: this is a new one. (A second Pay while one is
            # out cancels the first worker, not its payment: it waits for the same one below.)
            self.step_error("Paying…")
            server_id = await self.outcome(self.keeper.push_draft())
            # Read after the push: carrying the draft over may have given its seat up.
            draft = self.keeper.saved_draft()
            data = dict(draft.data) if draft else {}
            if draft is not None and not data.get("seat") and data.get(SEAT_RELEASED):
                # Said here; the step under this one shows that draft (esc goes back to choose).
                self.shown(self.revision, draft.revision)
                self.step_error(wording.seat_released(str(data[SEAT_RELEASED]), go_back=True))
                return
            if self.changed_elsewhere():
                return  # never pay for a booking this window did not show
            passenger = forms.parse_passenger(str(data.get("name", "")), str(data.get("email", "")))
            if isinstance(passenger, dict):
                self.step_error("The passenger's details are incomplete: go back (esc) to fix them.")
                return
            paying = self._paying = self.keeper.to_the_end(
                self._book(client, data, passenger, payment, server_id), finish_on_quit=True
            )
        try:
            await self.outcome(asyncio.shield(paying))
        except ApiError as exc:
            self.api_failed(exc)
            return
        self.go("confirmation")

    async def _book(
        self,
        client: BackendClient,
        data: dict[str, Any],
        passenger: forms.Passenger,
        payment: forms.Payment,
        server_id: str | None,
    ) -> None:
        """Runs to its end even if this screen is left meanwhile: once the server has booked, the
        draft must say so (else paying again would meet "draft already booked"). So its save names
        no revision: a booking the server made stands, even over what another window saved since."""
        booking = await client.rest.create_booking(
            flight_id=str(data.get("flight_id", "")),
            fare_code=str(data.get("fare_code", "")),
            passengers=[passenger.as_json()],
            seats=[str(data["seat"])] if data.get("seat") else [],
            payment=payment.as_json(),
            draft_id=server_id,
        )
        self.keeper.save_draft(
            "confirmation",
            {
                "record_locator": booking.record_locator,
                "total": str(booking.total),
                "points_earned": booking.points_earned,
            },
        )
        if booking.points_earned:
            await client.resync_profile()  # the new points balance, for home and "My bookings"


class ConfirmationStep(BookingStep):
    STEP = "confirmation"
    NEXT_LABEL = "Done"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+n", "next", "Done", priority=True),
        Binding("alt+n", "next", "Done", show=False, priority=True),
        Binding("m", "bookings", "My bookings", priority=True),
    ]

    def compose_step(self) -> Iterable[Widget]:
        data = self.data
        points = int(data.get("points_earned") or 0)
        earned = f"\nYou earned {points:,} loyalty points." if points else ""
        yield Static(
            f"Booked! Record locator {data.get('record_locator', '?')}\n"
            f"{data.get('flight_label', '')} · seat {data.get('seat', '')} · total {data.get('total', '')}"
            f"{earned}",
            id="confirmation",
            markup=False,
        )

    def compose_buttons(self) -> Iterable[Widget]:
        yield Button("My bookings (m)", id="bookings")
        yield Button("Done (ctrl+n)", id="next", variant="primary")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return action != "back"  # booked: there is no step to go back to

    BUTTONS: ClassVar[dict[str, str]] = {"next": "next", "bookings": "bookings"}

    def started(self) -> None:
        self.call_after_refresh(self.query_one("#next", Button).focus)

    def parse(self) -> None:
        return None

    def action_bookings(self) -> None:
        self._finish()
        self.post_message(ShowBookings())

    def advance(self, parsed: None) -> None:
        self._finish()
        self.post_message(GoHome())

    def _finish(self) -> None:
        drafts = self.keeper.drafts
        if drafts is not None and self.keeper.saved_draft() is not None:
            drafts.discard()  # booked: the draft is done


SCREENS: dict[str, type[BookingStep]] = {
    "search": SearchStep,
    "flights": FlightsStep,
    "passengers": PassengersStep,
    "seats": SeatsStep,
    "review": ReviewStep,
    "confirmation": ConfirmationStep,
}


def screen_for(step: str) -> BookingStep:
    return SCREENS.get(step, SearchStep)()
