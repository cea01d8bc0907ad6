"""The running bot seen from outside: its pid file (BOT_PID_FILE), and re-reading the roster
and the calendar file (SIGHUP, ``python -m bot reload``)."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
from pathlib import Path

from config.hours import CalendarError
from config.roster import Roster, RosterError, load_roster
from config.settings import Settings
from handlers.workcal import WorkCalendar, load_calendar

logger = logging.getLogger(__name__)


class ReloadError(Exception):
    """A roster or calendar file cannot be used; the message names the setting and file."""


class NotRunning(Exception):
    """No bot runs for this BOT_PID_FILE; the message says why."""


def load_world(settings: Settings) -> tuple[Roster, WorkCalendar]:
    """The roster (BOT_ORG_FILE) and working calendar (BOT_CALENDAR_FILE), both checked;
    ReloadError on one line naming the setting, the file and the problem."""
    try:
        roster = load_roster(settings.bot_org_file)
    except RosterError as exc:
        raise ReloadError(f"BOT_ORG_FILE {_one_line(str(exc))}") from None
    try:
        cal = load_calendar(settings)
    except CalendarError as exc:
        raise ReloadError(f"BOT_CALENDAR_FILE {_one_line(str(exc))}") from None
    return roster, cal


def _one_line(message: str) -> str:
    return "; ".join(line.strip() for line in message.splitlines() if line.strip())


def sd_notify(state: str) -> bool:
    """Tell systemd (Type=notify) how the bot is: READY=1, STOPPING=1. The protocol is one
    datagram to $NOTIFY_SOCKET; without it (not under systemd) nothing happens."""
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto(state.encode(), address)
    except OSError as exc:
        logger.warning("NOTIFY_SOCKET: cannot tell systemd %s: %s", state, exc)
        return False
    return True


# --- the pid file ----------------------------------------------------------------------------


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return True


def looks_like_bot(pid: int) -> bool:
    """Whether process ``pid`` runs the bot, by its command line (Linux /proc); True when
    that cannot be read. A stale pid file's number may belong to another program by now."""
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return True
    return any(word == b"bot" or word.endswith(b"dubanbot") for word in words)


def read_pid(path: Path) -> int | None:
    """The pid in ``path``; None when the file is absent or unreadable."""
    try:
        return int(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None


def running_pid(path: Path) -> int | None:
    """The pid of the bot ``path`` names, when that process is alive and runs the bot."""
    pid = read_pid(path)
    if pid is None or pid == os.getpid():
        return None
    return pid if alive(pid) and looks_like_bot(pid) else None


def write_pid_file(path: Path) -> None:
    """Write this process's pid (atomically); warn when it names another live process."""
    other = running_pid(path)
    if other is not None:
        logger.warning(
            "BOT_PID_FILE %s names the running process %d; replacing it "
            "(give each instance its own BOT_PID_FILE)",
            path,
            other,
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    part.write_text(f"{os.getpid()}\n", encoding="ascii")
    os.replace(part, path)


def remove_pid_file(path: Path) -> None:
    """Remove the pid file when it is still this process's."""
    if read_pid(path) == os.getpid():
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def signal_reload(settings: Settings) -> int:
    """``python -m bot reload``: check the files, then SIGHUP the running bot; its pid.
    ReloadError when a file is wrong (nothing is signalled), NotRunning without a bot."""
    load_world(settings)
    path = settings.bot_pid_file
    pid = read_pid(path)
    if pid is None:
        raise NotRunning(f"no running bot: BOT_PID_FILE {path} is absent or unreadable")
    if not alive(pid):
        raise NotRunning(f"no running bot: BOT_PID_FILE {path} names process {pid}, which is gone")
    if not looks_like_bot(pid):
        raise NotRunning(
            f"no running bot: BOT_PID_FILE {path} names process {pid}, which is not the bot "
            f"(a stale file)"
        )
    os.kill(pid, signal.SIGHUP)
    return pid
