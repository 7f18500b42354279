"""What the app is started with: parsed from the command line, or built by tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


def default_data_dir() -> Path:
    import platformdirs  # only when no --data-dir is given, and not before the first frame

    return Path(platformdirs.user_data_dir("sessionkeeper", appauthor=False))


# api.network.DEFAULT_CALL_DEADLINE_S (a test keeps them equal), not imported from there: httpx is
# not loaded before the first frame.
CALL_DEADLINE_S = 15.0


@dataclass(frozen=True, slots=True)
class Settings:
    ttl_s: float = 900.0
    warn_s: float = 60.0
    lifetime_s: float = 8 * 3600.0  # the embedded backend's absolute lifetime (rule 15)
    backend_url: str | None = None  # None: start the embedded backend
    backend_port: int | None = None  # the embedded backend's port; None: a free one
    data_dir: Path | None = None  # None: the platform's user data dir
    # How long the expiry prompt ignores keys and clicks after it appears (tui.screens.prompt).
    prompt_guard_s: float = 1.0
    # The most one exchange with the backend takes, answer read whole; past it, no answer.
    call_deadline_s: float = CALL_DEADLINE_S

    @property
    def data_path(self) -> Path:
        return self.data_dir if self.data_dir is not None else default_data_dir()
