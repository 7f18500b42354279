"""Files in the data dir (issue 16, item 4): opened without following a link or blocking on a FIFO,
a regular file only, 0600 set on the fd; whatever is in the way moved aside (a link itself, its
target untouched); the data dir made 0700, or told why not."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from sessionkeeper.session.private_files import (
    DIRECTORY,
    FIFO,
    SYMLINK,
    NotARegularFile,
    ensure_private_dir,
    make_dirs,
    move_aside,
    open_private,
)
from tests.files import mode, untouched
from tests.promptly import promptly

ACCESS_IDS = ["read", "write", "read-write"]


# -- open_private -------------------------------------------------------------------------------------


@pytest.mark.usefixtures("permissive_umask")
def test_a_created_file_is_0600_and_its_fd_blocks_as_usual(tmp_path: Path) -> None:
    path = tmp_path / "f"
    fd = open_private(path, os.O_RDWR, create=True)
    try:
        assert os.get_blocking(fd)  # O_NONBLOCK was for the open only
        assert not os.get_inheritable(fd)
        os.write(fd, b"x")
    finally:
        os.close(fd)
    assert mode(path) == 0o600 and path.read_bytes() == b"x"


@pytest.mark.parametrize("before", [0o644, 0o666, 0o400])
def test_a_file_of_another_mode_is_made_0600_on_the_fd(tmp_path: Path, before: int) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"kept")
    path.chmod(before)
    os.close(open_private(path, os.O_RDONLY))
    assert mode(path) == 0o600 and path.read_bytes() == b"kept"


@pytest.mark.parametrize("create", [False, True])
@pytest.mark.parametrize("flags", [os.O_RDONLY, os.O_WRONLY | os.O_APPEND, os.O_RDWR], ids=ACCESS_IDS)
def test_a_symlink_is_refused_and_its_target_untouched(
    tmp_path: Path, victim: Path, flags: int, create: bool
) -> None:
    link = tmp_path / "f"
    link.symlink_to(victim)
    with pytest.raises(NotARegularFile) as info:
        open_private(link, flags, create=create)
    assert info.value.found == SYMLINK and info.value.reason == "a symlink is in its place"
    assert isinstance(info.value, OSError)  # a caller that knows nothing better sees a failed open
    assert untouched(victim) and link.is_symlink()


def test_a_symlink_to_nothing_creates_nothing(tmp_path: Path) -> None:
    link = tmp_path / "f"
    link.symlink_to(tmp_path / "outside" / "would-be-created")
    (tmp_path / "outside").mkdir()
    with pytest.raises(NotARegularFile) as info:
        open_private(link, os.O_RDWR, create=True)
    assert info.value.found == SYMLINK
    assert list((tmp_path / "outside").iterdir()) == []


@pytest.mark.parametrize("flags", [os.O_RDONLY, os.O_WRONLY, os.O_RDWR | os.O_APPEND], ids=ACCESS_IDS)
def test_a_fifo_is_refused_without_blocking(tmp_path: Path, flags: int) -> None:
    fifo = tmp_path / "f"
    os.mkfifo(fifo)

    def attempt() -> str:
        try:
            os.close(open_private(fifo, flags, create=True))
        except NotARegularFile as exc:
            return exc.found
        return "opened"

    assert promptly(attempt) == FIFO


@pytest.mark.parametrize("planted", ["fifo", "symlink"])
@pytest.mark.parametrize("flags", [os.O_RDONLY, os.O_WRONLY, os.O_RDWR | os.O_APPEND], ids=ACCESS_IDS)
def test_what_is_there_when_it_is_opened_counts_not_what_was_seen_before(
    tmp_path: Path, victim: Path, monkeypatch: pytest.MonkeyPatch, planted: str, flags: int
) -> None:
    path = tmp_path / "f"
    real_lstat = os.lstat
    looks: list[Path] = []

    def nothing_there_at_first(target: Path) -> os.stat_result:
        looks.append(target)
        if len(looks) == 1:  # the look before the open: the swap comes just after it
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT))
        return real_lstat(target)

    monkeypatch.setattr(os, "lstat", nothing_there_at_first)
    if planted == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to(victim)

    def attempt() -> str:
        try:
            os.close(open_private(path, flags, create=True))
        except NotARegularFile as exc:
            return exc.found
        return "opened"

    assert promptly(attempt) == (FIFO if planted == "fifo" else SYMLINK)
    assert looks  # the look before the open was made, and was fooled
    assert untouched(victim)


@pytest.mark.parametrize("flags", [os.O_RDONLY, os.O_RDWR], ids=["read", "read-write"])
def test_a_directory_is_refused(tmp_path: Path, flags: int) -> None:
    (tmp_path / "f").mkdir()
    with pytest.raises(NotARegularFile) as info:
        open_private(tmp_path / "f", flags, create=True)
    assert info.value.found == DIRECTORY and info.value.errno == errno.EISDIR


def test_nothing_there_without_create_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        open_private(tmp_path / "f", os.O_RDONLY)


def test_which_file_can_be_named_in_the_reason() -> None:
    assert NotARegularFile(FIFO, where="drafts.sqlite3-wal").reason == (
        "drafts.sqlite3-wal: a FIFO is in its place"
    )


# -- move_aside ---------------------------------------------------------------------------------------


def test_a_symlink_is_moved_aside_itself_and_its_target_untouched(tmp_path: Path, victim: Path) -> None:
    link = tmp_path / "f"
    link.symlink_to(victim)
    moved = move_aside(link, "corrupt", numbered=True)
    assert moved == tmp_path / "f.corrupt-1"
    assert moved.is_symlink() and os.readlink(moved) == str(victim)
    assert not os.path.lexists(link) and untouched(victim)


def test_names_are_never_reused_a_dangling_symlink_taking_one_too(tmp_path: Path) -> None:
    path = tmp_path / "f"
    (tmp_path / "f.corrupt-1").symlink_to(tmp_path / "nowhere")
    path.write_bytes(b"first")
    assert move_aside(path, "corrupt", numbered=True) == tmp_path / "f.corrupt-2"
    path.write_bytes(b"second")
    assert move_aside(path, "corrupt-20300101T000000Z") == tmp_path / "f.corrupt-20300101T000000Z"
    path.write_bytes(b"third")
    assert move_aside(path, "corrupt-20300101T000000Z") == tmp_path / "f.corrupt-20300101T000000Z-2"
    assert (tmp_path / "f.corrupt-1").is_symlink()


def test_a_regular_file_moved_aside_is_made_0600_and_its_companions_go_with_it(
    tmp_path: Path, victim: Path
) -> None:
    path = tmp_path / "db"
    path.write_bytes(b"main")
    path.chmod(0o644)
    (tmp_path / "db-wal").write_bytes(b"wal")
    (tmp_path / "db-shm").symlink_to(victim)
    moved = move_aside(path, "corrupt", numbered=True, companions=("-wal", "-shm", "-journal"))
    assert moved.read_bytes() == b"main" and mode(moved) == 0o600
    assert (tmp_path / "db.corrupt-1-wal").read_bytes() == b"wal"
    assert (tmp_path / "db.corrupt-1-shm").is_symlink() and untouched(victim)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "db.corrupt-1",
        "db.corrupt-1-shm",
        "db.corrupt-1-wal",
        "outside",
    ]


def test_a_fifo_moved_aside_is_not_opened(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "f")
    moved = promptly(lambda: move_aside(tmp_path / "f", "corrupt", numbered=True))
    assert stat.S_ISFIFO(os.lstat(moved).st_mode)


def test_nothing_to_move_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        move_aside(tmp_path / "f", "corrupt")


# -- the data dir -------------------------------------------------------------------------------------


@pytest.mark.usefixtures("permissive_umask")
def test_a_missing_data_dir_is_created_0700_with_its_missing_ancestors(tmp_path: Path) -> None:
    data = tmp_path / "share" / "sessionkeeper"
    checked = ensure_private_dir(data)
    assert checked.problem is None and checked.tightened_from is None and checked.mode == 0o700
    assert mode(tmp_path / "share") == 0o700 and mode(data) == 0o700


def test_a_looser_data_dir_of_ours_is_tightened_and_says_from_what(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o755)
    checked = ensure_private_dir(data)
    assert (checked.tightened_from, checked.mode, checked.problem) == (0o755, 0o700, None)
    assert mode(data) == 0o700
    assert ensure_private_dir(data).tightened_from is None  # nothing more to do the next time


def test_a_private_data_dir_is_left_as_it_is(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    checked = ensure_private_dir(data)
    assert (checked.mode, checked.tightened_from, checked.problem) == (0o700, None, None)


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a directory away takes root")
def test_a_looser_data_dir_of_someone_else_is_left_and_says_why(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o755)
    os.chown(data, 4242, 4242)
    checked = ensure_private_dir(data)
    assert checked.problem == "mode 0755, and it belongs to another user"
    assert checked.tightened_from is None and mode(data) == 0o755


def test_a_mode_that_cannot_be_changed_is_said(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o775)

    def refused(fd: int, mode: int) -> None:
        raise PermissionError(errno.EPERM, os.strerror(errno.EPERM))

    monkeypatch.setattr(os, "fchmod", refused)
    checked = ensure_private_dir(data)
    assert checked.problem == "mode 0775, and it cannot be changed: Operation not permitted"
    assert mode(data) == 0o775


def test_a_data_dir_that_cannot_be_a_directory_raises(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("in the way")
    with pytest.raises(NotADirectoryError):
        ensure_private_dir(tmp_path / "data")
    with pytest.raises(NotADirectoryError):
        make_dirs(tmp_path / "data" / "below")


def test_a_data_dir_reached_through_a_symlink_is_the_users_choice_and_followed(tmp_path: Path) -> None:
    real = tmp_path / "elsewhere"
    real.mkdir()
    real.chmod(0o750)
    (tmp_path / "data").symlink_to(real, target_is_directory=True)
    assert ensure_private_dir(tmp_path / "data").tightened_from == 0o750
    assert mode(real) == 0o700
