"""The mock backend: an ASGI app with sliding sessions, REST, GraphQL and QA control."""
