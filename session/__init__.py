"""The client-side session lifecycle: clocks, the pure engine, and the async manager around it."""
