"""`fleet sim` as a user runs it: one line when ready, files written, clean stop on SIGTERM."""

import asyncio
import re
import signal
import sys
from pathlib import Path

import pytest

from fleet import cli
from fleet.cli import sim as sim_command
from fleet.sim import faults
from fleet.structs import errors
from tests.support.simulator import running

READY = re.compile(
    r"^fleet sim: serving 2 clusters at https://127\.0\.0\.1:(\d+)/clusters/<name> "
    r"\(port \1\); kubeconfigs and inventory\.yaml in (.+)$"
)


async def test_serves_until_sigterm_and_exits_zero(tmp_path: Path) -> None:
    out = tmp_path / "out"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "fleet", "sim", "--clusters", "2", "--out", str(out),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    try:
        async with asyncio.timeout(30):
            line = (await process.stdout.readline()).decode().rstrip("\n")
        match = READY.match(line)
        assert match, line
        assert match.group(2) == str(out)
        assert sorted(p.name for p in out.iterdir()) == [
            "admin-token", "inventory.yaml", "sim-000.kubeconfig", "sim-001.kubeconfig",
        ]  # fmt: skip
    finally:
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            rest, err = await process.communicate()
    assert process.returncode == 0, err
    assert rest == b""  # one line only, when not on a terminal


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--labels", "env"], "fleet: error: --labels: expected key=value"),
        (["--clusters", "0"], "fleet: error: fleet sim: clusters must be between 1 and 100000"),
        (["--error-rate", "2"], "fleet: error: fleet sim: error_rate must be between 0 and 1"),
        (["--error-codes", "404"], "fleet: error: fleet sim: error_codes must be some of"),
    ],
)
def test_bad_flags_are_one_line_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["sim", *argv]) == 2
    assert capsys.readouterr().err.startswith(message)


def test_flags_become_settings() -> None:
    args = cli.build_parser().parse_args(
        ["sim", "--clusters", "7", "--plain-http", "--outage", "reset", "--latency", "0.2",
         "--labels", "env=a,b", "--drop-watches-after", "5"]
    )  # fmt: skip
    settings = sim_command.settings_from(args)
    assert (settings.clusters, settings.tls) == (7, False)
    assert settings.faults == faults.Faults(
        latency=0.2, drop_watches_after=5.0, outage=faults.Outage.RESET
    )
    assert settings.labels.for_index(1) == {"env": "b"}


async def test_on_a_terminal_it_shows_how_to_use_kubectl(tmp_path: Path) -> None:
    async with running(clusters=7) as sim:
        inventory = await sim.write_files(tmp_path)
        text = sim_command.announcement(sim, tmp_path, inventory, explain=True)
    lines = text.splitlines()
    assert lines[0] == sim_command.announcement(sim, tmp_path, inventory, explain=False)
    assert lines[1] == "  clusters: sim-000, sim-001, sim-002, sim-003, sim-004 ..."
    assert lines[2] == f"  try:      kubectl --kubeconfig {tmp_path}/sim-000.kubeconfig get ns"


async def test_a_busy_port_is_a_user_error(tmp_path: Path) -> None:
    blocker = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = blocker.sockets[0].getsockname()[1]
    args = cli.build_parser().parse_args(["sim", "--port", str(port), "--out", str(tmp_path)])
    try:
        with pytest.raises(errors.UserError, match="--port: cannot listen on port"):
            await sim_command.serve(sim_command.settings_from(args), tmp_path, explain=False)
    finally:
        blocker.close()
        await blocker.wait_closed()
