"""Talking to the backend: the shared session middleware, typed REST and GraphQL clients."""
