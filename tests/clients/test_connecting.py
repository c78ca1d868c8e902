"""Access to endpoints: kubeconfig credentials of every kind that kubernetes-asyncio
reads (here: an exec plugin), TLS contexts shared per CA, private certificate files,
and proxies from the environment decided once per cluster."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest
import yaml

from fleet.clients import connecting, inventories
from fleet.sim import serving
from fleet.structs import errors
from fleet.structs.kube import ConnectionPhase
from fleet.structs.objects import ClusterName
from tests.clients import support
from tests.support.clock import FakeClock


async def test_clusters_with_one_ca_share_one_tls_context(
    tls_sim: serving.Simulator, tmp_path: Path
) -> None:
    inventory = await tls_sim.write_files(tmp_path)
    first, second = [
        await connecting.connect(e.name, e.access, clock=FakeClock())
        for e in [await support.entry(inventory, name) for name in tls_sim.names]
    ]
    assert first.tls is not None
    assert first.tls is second.tls
    assert tls_sim.ca_pem is not None
    ca_file = connecting._file_of(tls_sim.ca_pem)  # the one file written for that CA
    assert stat.S_IMODE(os.stat(ca_file).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(ca_file)).st_mode) == 0o700
    async with support.connected(inventory, "sim-000"):  # TLS verified against that CA
        pass


async def test_an_exec_plugin_supplies_the_token(sim: serving.Simulator, inventory: Path) -> None:
    credential = {"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
                  "status": {"token": sim.token("sim-000")}}  # fmt: skip
    kubeconfig = inventory.parent / "sim-000.kubeconfig"
    document = yaml.safe_load(kubeconfig.read_text())
    document["users"][0]["user"] = {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "command": sys.executable, "args": ["-c", f"print({json.dumps(credential)!r})"],
        "interactiveMode": "Never",
    }}  # fmt: skip
    kubeconfig.write_text(yaml.safe_dump(document))
    async with support.connected(inventory, "sim-000") as client:
        assert client.connection.phase is ConnectionPhase.READY
        assert sim.token("sim-000") not in repr(client.session.endpoint)


async def test_a_kubeconfig_that_cannot_be_loaded_names_the_cluster(
    sim: serving.Simulator, inventory: Path
) -> None:
    kubeconfig = inventory.parent / "sim-000.kubeconfig"
    document = yaml.safe_load(kubeconfig.read_text())
    document["users"][0]["user"] = {"tokenFile": "no-such-token"}
    kubeconfig.write_text(yaml.safe_dump(document))
    entry = await support.entry(inventory, "sim-000")
    with pytest.raises(errors.ClusterError) as raised:
        await connecting.connect(entry.name, entry.access, clock=FakeClock())
    assert str(raised.value).startswith(
        f"cluster sim-000: cannot use {kubeconfig} context sim-000:"
    )


async def test_in_cluster_access_outside_a_cluster_is_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    access = inventories.Access.inside()
    with pytest.raises(
        errors.ClusterError, match="cannot use in-cluster: Service host/port is not set"
    ):
        await connecting.connect(ClusterName("here"), access, clock=FakeClock())


@pytest.mark.parametrize(
    ("server", "environment", "proxy"),
    [
        ("https://10.0.0.1:6443", {"HTTPS_PROXY": "http://proxy:3128"}, "http://proxy:3128"),
        (
            "https://10.0.0.1:6443",
            {"HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": "10.0.0.1"},
            None,
        ),
        ("http://10.0.0.1:8080", {"HTTPS_PROXY": "http://proxy:3128"}, None),
        ("https://api.example.com", {}, None),
    ],
)
def test_the_environment_proxy_is_chosen_once_per_cluster(
    monkeypatch: pytest.MonkeyPatch, server: str, environment: dict[str, str], proxy: str | None
) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert connecting._proxy_from_environment(server) == proxy
