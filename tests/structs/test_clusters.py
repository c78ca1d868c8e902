"""A Cluster's labels cannot change behind its back."""

import pytest

from fleet.structs.clusters import Cluster
from fleet.structs.objects import ClusterName


def test_labels_are_copied_and_read_only() -> None:
    labels = {"env": "dev"}
    cluster = Cluster(name=ClusterName("dev-1"), labels=labels)
    labels["env"] = "prod"
    assert cluster.labels == {"env": "dev"}
    with pytest.raises(TypeError):
        cluster.labels["env"] = "prod"  # type: ignore[index]
