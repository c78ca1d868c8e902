"""The session to the management cluster: a kubeconfig and context, or in-cluster; and
one clear line, never a traceback or a credential, when that access cannot be used."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleet.clients import leasing
from fleet.clients.metering import Verb
from fleet.clients.requesting import Call
from fleet.sim import serving
from fleet.structs import errors
from fleet.structs.settings import ClientSettings, LeaderSettings
from tests.leader import support
from tests.support.clock import FakeClock

TOKEN = "s3cr3t-token-value"  # a credential that must not leak into a message


async def open_and_get(settings: LeaderSettings) -> None:
    async with leasing.session(settings, clients=ClientSettings(), clock=FakeClock()) as api:
        await api.call(Call(Verb.GET, "GET", "/api", what="discovery of /api"))


async def test_a_kubeconfig_and_context_reach_the_management_cluster(
    sim: serving.Simulator, kubeconfig: Path
) -> None:
    settings = support.settings(kubeconfig, context=support.CLUSTER)
    async with leasing.session(settings, clients=ClientSettings(), clock=FakeClock()) as api:
        assert api.cluster == leasing.MANAGEMENT
        found = await api.call(Call(Verb.GET, "GET", "/api", what="discovery of /api"))
        assert found["kind"] == "APIVersions"
    assert api.closed


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("content", "context", "message"),
    [
        (None, None, "cannot be read: No such file or directory"),
        ("clusters: [\n", None, "not valid YAML"),
        ("- a list\n", None, "is not a kubeconfig (not a mapping)"),
        ("kind: Config\n", None, "has no current-context; name one with 'context:'"),
        (None, "sim-00", "has no context 'sim-00' (did you mean 'sim-000'?)"),
        (
            f"kind: Config\ncurrent-context: x\ncontexts: [{{name: x, context: {{cluster: x,"
            f" user: x}}}}]\nclusters: [{{name: x, cluster: {{server: 'ftp://host'}}}}]\n"
            f"users: [{{name: x, user: {{token: {TOKEN}}}}}]\n",
            None,
            "cluster 'x' has no http(s) server URL",
        ),
    ],
)
async def test_an_unusable_kubeconfig_is_one_line_naming_it(
    kubeconfig: Path, tmp_path: Path, content: str | None, context: str | None, message: str
) -> None:
    if content is not None:
        path = write(tmp_path / "management.kubeconfig", content)
    elif context is None:
        path = tmp_path / "missing.kubeconfig"
    else:
        path = kubeconfig
    with pytest.raises(errors.UserError) as raised:
        await open_and_get(support.settings(path, context=context))
    text = str(raised.value)
    assert text.startswith(f"leader.kubeconfig {path}: {message}"), text
    assert "\n" not in text
    assert TOKEN not in text


async def test_in_cluster_access_outside_a_cluster_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_PORT", raising=False)
    with pytest.raises(errors.UserError, match=r"^leader election: cannot use in-cluster: "):
        await open_and_get(support.settings(None))


async def test_the_session_leaves_retrying_to_the_elector(kubeconfig: Path) -> None:
    settings = support.settings(kubeconfig, renew_deadline=6.0, retry_period=1.0)
    clients = ClientSettings(request_timeout=30.0, retries=3)
    async with leasing.session(settings, clients=clients, clock=FakeClock()) as api:
        assert repr(api).startswith("ApiSession(management at http://127.0.0.1:")
        assert (api._settings.retries, api._settings.request_timeout) == (0, 3.0)
