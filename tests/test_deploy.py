"""The deployment files: the Dockerfile runs what scripts/run runs, as a user that is not root,
installed with constraints.txt; the systemd unit is valid and complete; every setting is in
.env.example and in the README's table."""

from __future__ import annotations

import configparser
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
UNIT = ROOT / "deploy" / "dubanbot.service"


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def final_stage(steps: list[tuple[str, str]]) -> list[tuple[str, str]]:
    last = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last:]


def exec_form(arguments: str) -> list[str]:
    value = json.loads(arguments)
    assert isinstance(value, list)
    return [str(v) for v in value]


def scripts_run_command() -> list[str]:
    """The command scripts/run execs, without the venv's path to python."""
    line = next(
        line
        for line in (ROOT / "scripts" / "run").read_text(encoding="utf-8").splitlines()
        if line.startswith("exec ")
    )
    words = shlex.split(line)[1:]
    assert words[-1] == "$@"
    return ["python", *words[1:-1]]


def test_the_image_runs_what_scripts_run_runs() -> None:
    steps = final_stage(instructions(DOCKERFILE))
    entry = exec_form(next(args for word, args in steps if word == "ENTRYPOINT"))
    cmd = exec_form(next(args for word, args in steps if word == "CMD"))
    assert entry + cmd == scripts_run_command() == ["python", "-m", "bot", "run"]


def test_the_image_is_small_and_runs_as_a_user_that_is_not_root() -> None:
    steps = instructions(DOCKERFILE)
    assert all(args.startswith("python:3.11-slim") for word, args in steps if word == "FROM")
    final = final_stage(steps)
    users = [args for word, args in final if word == "USER"]
    assert users and users[-1] not in ("root", "0", "0:0")
    # nothing runs after USER as root again, and the entry point comes after it
    words = [word for word, _ in final]
    assert words.index("USER") < words.index("ENTRYPOINT")
    assert any(word == "WORKDIR" for word, _ in final)
    assert any(word == "VOLUME" and "data" in args for word, args in final)
    installs = [args for word, args in steps if word == "RUN" and "pip install" in args]
    assert installs and all("-c constraints.txt" in args for args in installs)
    assert not any("apt-get install" in args for word, args in final if word == "RUN")


def test_the_healthcheck_asks_healthz_only_when_bot_http_is_set(tmp_path: Path) -> None:
    final = final_stage(instructions(DOCKERFILE))
    check = next(args for word, args in final if word == "HEALTHCHECK")
    command = exec_form(check.split(" CMD ", 1)[1])
    assert command[:2] == ["python", "-c"] and "/healthz" in command[2]
    env = {"PATH": "/usr/bin:/bin"}
    # without BOT_HTTP the check passes; with it and nothing listening, it fails
    assert subprocess.run([sys.executable, "-c", command[2]], env=env, check=False).returncode == 0
    env["BOT_HTTP"] = "127.0.0.1:9"
    failing = subprocess.run(
        [sys.executable, "-c", command[2]], env=env, check=False, capture_output=True
    )
    assert failing.returncode != 0


def test_dockerignore_keeps_secrets_and_data_out() -> None:
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    for name in (".env", "data", ".venv", ".git"):
        assert name in ignored


def test_the_entry_point_starts() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0 and "usage: python -m bot run" in done.stdout


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text(encoding="utf-8"))
    return parser


def test_the_systemd_unit_has_what_the_bot_needs() -> None:
    service = unit()["Service"]
    assert service["Type"] == "notify"  # bot.control.sd_notify: READY=1, STOPPING=1
    assert service["ExecStart"].endswith("/python -m bot run")
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert service["KillSignal"] == "SIGTERM"
    assert service["Restart"] == "on-failure"
    assert int(service["TimeoutStopSec"]) >= 20  # the stream's 10 s and App.stop's 10 s
    for key in ("EnvironmentFile", "User", "WorkingDirectory"):
        assert service[key]
    assert service["User"] != "root"
    for key in ("NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp"):
        assert service[key] in ("yes", "strict")
    assert unit()["Install"]["WantedBy"] == "multi-user.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_analyze_verifies_the_unit(tmp_path: Path) -> None:
    # verify checks that ExecStart exists: point it at this interpreter
    text = UNIT.read_text(encoding="utf-8")
    text = text.replace("/opt/dubanbot/.venv/bin/python", sys.executable)
    copy = tmp_path / "dubanbot.service"
    copy.write_text(text, encoding="utf-8")
    done = subprocess.run(
        ["systemd-analyze", "verify", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    problems = [line for line in done.stderr.splitlines() if "dubanbot" in line]
    assert done.returncode == 0 and not problems, done.stderr


def setting_names() -> list[str]:
    return [name.upper() for name in Settings.model_fields]


def test_every_setting_is_in_env_example() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    named = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, re.MULTILINE))
    missing = [name for name in setting_names() if name not in named]
    assert not missing, f"not in .env.example: {missing}"


def test_every_setting_is_in_the_readme_table() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", text, re.MULTILINE))
    missing = [name for name in setting_names() if name not in rows]
    assert not missing, f"not in the README's settings table: {missing}"
