"""`fleet sync`: the token from the flag or the environment, and the refusals."""

from __future__ import annotations

import pytest

from fleet.cli import apiclient
from tests.api import fakes
from tests.api.conftest import TOKEN, Serve
from tests.cli_client.conftest import RunFleet


async def test_sync_with_the_token_flag(serve: Serve, run_fleet: RunFleet) -> None:
    fleet = fakes.FakeFleet()
    served = await serve(fleet=fleet, token=TOKEN)
    code, out, err = await run_fleet(
        "sync", "eu-1", "--server", served.client.base_url, "--token", TOKEN
    )
    assert (code, err) == (0, "")
    assert out == "sync of eu-1 queued; see how it goes with: fleet status --cluster eu-1\n"
    assert fleet.requested == ["eu-1"]


async def test_sync_with_the_token_from_the_environment(
    serve: Serve, run_fleet: RunFleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet = fakes.FakeFleet()
    served = await serve(fleet=fleet, token=TOKEN)
    monkeypatch.setenv(apiclient.TOKEN_VARIABLE, TOKEN)
    monkeypatch.setenv(apiclient.SERVER_VARIABLE, served.client.base_url)
    code, _, _ = await run_fleet("sync", "us-1")
    assert code == 0
    assert fleet.requested == ["us-1"]


@pytest.mark.parametrize(
    ("server_token", "given", "message"),
    [
        (
            TOKEN,
            None,
            "POST /api/v1/clusters/eu-1/sync: this endpoint needs the API token:"
            " Authorization: Bearer <token> (give --token or set FLEET_API_TOKEN)",
        ),
        (
            TOKEN,
            "wrong-token-0123456789",
            "POST /api/v1/clusters/eu-1/sync: this endpoint needs the API token:"
            " Authorization: Bearer <token> (give --token or set FLEET_API_TOKEN)",
        ),
        (
            None,
            TOKEN,
            "POST /api/v1/clusters/eu-1/sync: writes are disabled: set FLEET_API_TOKEN",
        ),
    ],
)
async def test_refusals_are_one_line_without_the_token(
    serve: Serve,
    run_fleet: RunFleet,
    monkeypatch: pytest.MonkeyPatch,
    server_token: str | None,
    given: str | None,
    message: str,
) -> None:
    monkeypatch.delenv(apiclient.TOKEN_VARIABLE, raising=False)
    served = await serve(token=server_token)
    token = ["--token", given] if given else []
    code, out, err = await run_fleet("sync", "eu-1", "--server", served.client.base_url, *token)
    assert (code, out) == (2, "")
    assert err == f"fleet: error: {message}\n"
    assert TOKEN not in err


async def test_an_unknown_cluster(serve: Serve, run_fleet: RunFleet) -> None:
    served = await serve(token=TOKEN)
    code, _, err = await run_fleet(
        "sync", "no/such", "--server", served.client.base_url, "--token", TOKEN
    )
    assert code == 2
    assert err == (
        "fleet: error: POST /api/v1/clusters/no%2Fsuch/sync: no cluster named 'no/such'\n"
    )
