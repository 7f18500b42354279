"""The GraphQL documents the client sends, one constant per operation."""

FARES = """
query Fares($flightId: ID!) {
  fares(flightId: $flightId) { code name cabin price { amountCents currency } refundable checkedBags }
}
"""

SEAT_MAP = """
query SeatMap($flightId: ID!) {
  seatMap(flightId: $flightId) {
    flightId aircraft columns
    rows { number cabin seats { code column status } }
  }
}
"""

HOLD_SEAT = """
mutation HoldSeat($flightId: ID!, $seat: String!, $draftId: ID!) {
  holdSeat(flightId: $flightId, seat: $seat, draftId: $draftId) { flightId seat draftId expiresInS }
}
"""

RELEASE_SEAT = """
mutation ReleaseSeat($flightId: ID!, $seat: String!, $draftId: ID!) {
  releaseSeat(flightId: $flightId, seat: $seat, draftId: $draftId)
}
"""

ME = """
query Me {
  me { username name email loyalty { tier points memberSince } }
}
"""

ALL = (FARES, SEAT_MAP, HOLD_SEAT, RELEASE_SEAT, ME)

# Introspection only: the middleware sends it ungated (no token, the deadline not moved), so it
# can warm the GraphQL stack and its connection without touching the session.
WARM_UP = "query WarmUp { __typename }"
