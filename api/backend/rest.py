"""The REST API under /api: session endpoints (docs/backend.md section 2) and the airline's routes.

Auth was decided by the gate before any route runs; a route only asks which session the gate
accepted. Every request and response has a pydantic model, so /openapi.json shows the shapes.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from sessionkeeper.api.backend import catalog
from sessionkeeper.api.backend.bookings import Booking, BookingRequest, Draft, Passenger, Payment
from sessionkeeper.api.backend.errors import BEARER_CHALLENGE, ErrorAnswer, error_responses
from sessionkeeper.api.backend.gate import bearer_token, session_of
from sessionkeeper.api.backend.models import (
    AirportOut,
    AirportsOut,
    BookingIn,
    BookingOut,
    BookingsOut,
    DraftIn,
    DraftOut,
    DraftsOut,
    FlightOut,
    FlightSearchIn,
    FlightsOut,
    GuestSessionOut,
    LoginIn,
    MoneyOut,
    PassengerOut,
    ReauthIn,
    RefreshOut,
    UserOut,
    UserSessionOut,
    WhoAmIOut,
)
from sessionkeeper.api.backend.sessions import AuthRejected, Issued, Session
from sessionkeeper.api.backend.state import BackendState
from sessionkeeper.api.backend.users import DEMO_USERS, User, check_credentials

log = logging.getLogger("sessionkeeper.backend")

# Only for the OpenAPI document (it marks the routes as Bearer-protected); the gate does the work.
_bearer_scheme = HTTPBearer(auto_error=False, description="the session token")


def _current_session(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)],
) -> Session:
    session = session_of(request.scope)
    if session is None:  # unreachable behind the gate; kept so a misconfigured app fails closed
        raise ErrorAnswer(401, "invalid_token", "no accepted session", headers=BEARER_CHALLENGE)
    return session


SessionDep = Annotated[Session, Depends(_current_session)]
_AUTH_ERRORS = (401,)


def _user_out(user: User) -> UserOut:
    return UserOut(username=user.username, name=user.name, email=user.email)


def _user_session_out(issued: Issued) -> UserSessionOut:
    assert issued.reauth_key is not None and issued.session.user is not None
    return UserSessionOut(
        token=issued.token,
        reauth_key=issued.reauth_key,
        user=_user_out(DEMO_USERS[issued.session.user]),
    )


def _flight_out(flight: catalog.Flight) -> FlightOut:
    return FlightOut(
        id=flight.id,
        number=flight.number,
        origin=flight.origin,
        destination=flight.destination,
        departure=flight.departure,
        arrival=flight.arrival,
        duration_min=flight.duration_min,
        aircraft=flight.aircraft,
        price_from=MoneyOut(amount_cents=flight.base_price_cents, currency=catalog.CURRENCY),
    )


def _draft_out(draft: Draft) -> DraftOut:
    user = draft.owner.removeprefix("user:") if draft.owner.startswith("user:") else None
    return DraftOut(
        id=draft.id,
        step=draft.step,
        data=draft.data,
        owner="user" if user is not None else "guest",
        user=user,
        version=draft.version,
        created_at=draft.created_at,
        updated_at=draft.updated_at,
        booking=draft.booking,
    )


def _booking_out(booking: Booking) -> BookingOut:
    return BookingOut(
        record_locator=booking.locator,
        flight_id=booking.flight_id,
        fare_code=booking.fare_code,
        passengers=[PassengerOut(name=p.name, email=p.email) for p in booking.passengers],
        seats=booking.seats,
        total=MoneyOut(amount_cents=booking.total_cents, currency=catalog.CURRENCY),
        draft_id=booking.draft_id,
        card_last4=booking.card_last4,
        points_earned=booking.points_earned,
        made_as_guest=booking.made_as_guest,
    )


def build_rest_router(state: BackendState) -> APIRouter:
    # Any /api route can meet the `down` fault (503) and the body cap (413).
    router = APIRouter(prefix="/api", responses=error_responses(413, 503))
    sessions = state.sessions

    # -- session (docs/backend.md section 2) --------------------------------------------

    @router.post(
        "/session/guest",
        status_code=201,
        response_model=GuestSessionOut,
        tags=["session"],
        summary="Start a guest session",
    )
    def create_guest_session() -> GuestSessionOut:
        return GuestSessionOut(token=state.open_guest_session().token)

    @router.post(
        "/session/login",
        response_model=UserSessionOut,
        tags=["session"],
        responses=error_responses(401, 422),
        summary="Sign in with username and password",
        description="A live guest token in the Authorization header is ended (renew on privilege"
        " change) and that guest's drafts, seat holds and bookings move to the user.",
    )
    def login(body: LoginIn, request: Request) -> UserSessionOut:
        user = check_credentials(body.username, body.password)
        if user is None:
            log.info("login refused")
            raise ErrorAnswer(401, "invalid_credentials", "wrong username or password")
        issued = sessions.create_user(user.username)
        token = bearer_token(request.scope)
        guest = sessions.peek(token) if token else None
        if guest is not None and guest.kind == "guest":
            sessions.end(guest, "upgraded_to_user", revoke_reauth_keys=True)
            moved = state.desk.transfer(guest.owner_key(), issued.session.owner_key())
            log.info(
                "guest session %s ended by sign-in; %d drafts and %d bookings moved",
                guest.id,
                moved.drafts,
                moved.bookings,
            )
        log.info("session %s (user %s) created by login", issued.session.id, user.username)
        return _user_session_out(issued)

    @router.post(
        "/session/refresh",
        response_model=RefreshOut,
        tags=["session"],
        responses=error_responses(401, 503),
        summary="Rotate the token",
        description="The new token is on the same session. The old one keeps working for"
        " grace_s (default 30 s) by the server clock.",
    )
    def refresh(session: SessionDep) -> RefreshOut:
        token = sessions.refresh(session)
        log.info("session %s refreshed", session.id)
        return RefreshOut(token=token)

    @router.post(
        "/session/reauth",
        response_model=UserSessionOut,
        tags=["session"],
        responses=error_responses(401, 422),
        summary="New user session from a reauth key",
        description="The key is single-use: the answer carries its replacement.",
    )
    def reauth(body: ReauthIn) -> UserSessionOut:
        try:
            issued = sessions.reauth(body.reauth_key)
        except AuthRejected as rejection:  # past the absolute lifetime: only the password will do
            log.info("reauth refused: %s", rejection.reason)
            raise ErrorAnswer(401, rejection.reason, rejection.detail) from None
        if issued is None:
            log.info("reauth refused")
            raise ErrorAnswer(401, "reauth_rejected", "unknown, used or revoked reauth key")
        log.info("session %s (user %s) created by reauth", issued.session.id, issued.session.user)
        return _user_session_out(issued)

    @router.delete(
        "/session",
        status_code=204,
        response_class=Response,
        tags=["session"],
        responses=error_responses(*_AUTH_ERRORS),
        summary="Sign out",
        description="Revokes the session (every token of it) and its reauth key.",
    )
    def sign_out(session: SessionDep) -> Response:
        sessions.end(session, "signed_out", revoke_reauth_keys=True)
        state.counters.signouts += 1
        log.info("session %s signed out", session.id)
        return Response(status_code=204)

    @router.get(
        "/session",
        response_model=WhoAmIOut,
        tags=["session"],
        responses=error_responses(*_AUTH_ERRORS),
        summary="Who this token belongs to",
    )
    def who_am_i(session: SessionDep) -> WhoAmIOut:
        user = DEMO_USERS.get(session.user) if session.user is not None else None
        return WhoAmIOut(session_id=session.id, kind=session.kind, user=_user_out(user) if user else None)

    # -- catalog ------------------------------------------------------------------------

    @router.get(
        "/airports",
        response_model=AirportsOut,
        tags=["catalog"],
        responses=error_responses(*_AUTH_ERRORS),
    )
    def list_airports(_session: SessionDep) -> AirportsOut:
        return AirportsOut(
            airports=[
                AirportOut(code=a.code, name=a.name, city=a.city, country=a.country)
                for a in catalog.AIRPORTS.values()
            ]
        )

    @router.get(
        "/flights",
        response_model=FlightsOut,
        tags=["catalog"],
        responses=error_responses(*_AUTH_ERRORS, 422),
        summary="Search flights",
    )
    def search_flights(_session: SessionDep, search: Annotated[FlightSearchIn, Query()]) -> FlightsOut:
        for name in ("origin", "destination"):
            code = getattr(search, name)
            if code not in catalog.AIRPORTS:
                raise ErrorAnswer(422, "invalid_request", f"{name}: unknown airport {code!r}")
        if search.origin == search.destination:
            raise ErrorAnswer(422, "invalid_request", "destination: same as origin")
        found = catalog.search_flights(search.origin, search.destination, search.date)
        return FlightsOut(flights=[_flight_out(f) for f in found])

    @router.get(
        "/flights/{flight_id}",
        response_model=FlightOut,
        tags=["catalog"],
        responses=error_responses(*_AUTH_ERRORS, 404),
    )
    def get_flight(_session: SessionDep, flight_id: str) -> FlightOut:
        flight = catalog.find_flight(flight_id)
        if flight is None:
            raise ErrorAnswer(404, "flight_not_found", f"no such flight: {flight_id[:64]!r}")
        return _flight_out(flight)

    # -- drafts -------------------------------------------------------------------------

    @router.post(
        "/drafts",
        status_code=201,
        response_model=DraftOut,
        tags=["drafts"],
        responses=error_responses(*_AUTH_ERRORS, 409, 422),
        description="A user's draft belongs to the user; a guest's to that guest session.",
    )
    def create_draft(session: SessionDep, body: DraftIn) -> DraftOut:
        draft = state.desk.create_draft(session.owner_key(), body.step, body.data)
        log.info("draft %s created (session %s)", draft.id, session.id)
        return _draft_out(draft)

    @router.get(
        "/drafts",
        response_model=DraftsOut,
        tags=["drafts"],
        responses=error_responses(*_AUTH_ERRORS),
    )
    def list_drafts(session: SessionDep) -> DraftsOut:
        return DraftsOut(drafts=[_draft_out(d) for d in state.desk.list_drafts(session.owner_key())])

    @router.get(
        "/drafts/{draft_id}",
        response_model=DraftOut,
        tags=["drafts"],
        responses=error_responses(*_AUTH_ERRORS, 404),
    )
    def get_draft(session: SessionDep, draft_id: str) -> DraftOut:
        return _draft_out(state.desk.get_draft(session.owner_key(), draft_id))

    @router.put(
        "/drafts/{draft_id}",
        response_model=DraftOut,
        tags=["drafts"],
        responses=error_responses(*_AUTH_ERRORS, 404, 422),
        summary="Replace step and data",
    )
    def update_draft(session: SessionDep, draft_id: str, body: DraftIn) -> DraftOut:
        draft = state.desk.update_draft(session.owner_key(), draft_id, body.step, body.data)
        return _draft_out(draft)

    # -- bookings -----------------------------------------------------------------------

    @router.post(
        "/bookings",
        status_code=201,
        response_model=BookingOut,
        tags=["bookings"],
        responses=error_responses(*_AUTH_ERRORS, 404, 409, 422),
        summary="Book and pay",
        description="422 `invalid_input` lists each bad field (passengers[i].email,"
        " payment.card_number, ...). 409 `draft_already_booked` if the draft was booked.",
    )
    def create_booking(session: SessionDep, body: BookingIn) -> BookingOut:
        request = BookingRequest(
            flight_id=body.flight_id,
            fare_code=body.fare_code,
            passengers=[Passenger(p.name, p.email) for p in body.passengers],
            seats=list(body.seats),
            payment=Payment(body.payment.card_number, body.payment.expiry, body.payment.cvc),
            draft_id=body.draft_id,
        )
        booking = state.desk.book(session.owner_key(), request)
        if session.user is not None:  # only members earn points; see api/backend/loyalty.py
            booking.points_earned = state.loyalty.earn(session.user, booking.total_cents)
        state.counters.bookings += 1
        log.info("booking %s created (session %s)", booking.locator, session.id)
        return _booking_out(booking)

    @router.get(
        "/bookings",
        response_model=BookingsOut,
        tags=["bookings"],
        responses=error_responses(*_AUTH_ERRORS),
        summary="My bookings, newest first",
        description="A signed-in user's bookings from any of their sessions (a guest session's"
        " bookings included once it signed in); a guest's: those made with that guest session.",
    )
    def list_bookings(session: SessionDep) -> BookingsOut:
        return BookingsOut(bookings=[_booking_out(b) for b in state.desk.list_bookings(session.owner_key())])

    @router.get(
        "/bookings/{record_locator}",
        response_model=BookingOut,
        tags=["bookings"],
        responses=error_responses(*_AUTH_ERRORS, 404),
    )
    def get_booking(session: SessionDep, record_locator: str) -> BookingOut:
        return _booking_out(state.desk.get_booking(session.owner_key(), record_locator))

    return router
