"""Rendering: the fleet spec and the bundles' files, to each cluster's desired state.

The steps, per cluster, in this order and why:

1. Choose, per bundle, the first target whose selector matches the cluster's labels
   (first match wins, so a catch-all target can come last).
2. Substitute parameters into every manifest of the bundle (files parsed once for all
   clusters, see `fleet.planning.manifests`).
3. Learn the scope of custom kinds from the CRDs of *all* bundles on the cluster (a CRD
   bundle and the bundle of its custom resources are usually separate, with `dependsOn`).
4. Give namespaced objects without a namespace the bundle's namespace; this comes before
   patches so that a patch aimed at a namespace finds the object where it will live.
5. Apply the target's patches; then set the labels fleet owns, last, so no patch can
   remove what the engine needs to find its objects.
6. Check the cluster as a whole: one object in two places, a `dependsOn` that is not on
   this cluster, and policies.

A problem blocks only the bundle on the cluster where it was found: it becomes part of
that bundle's result, never an exception, and every other bundle and cluster is rendered
as usual. Nothing here does I/O: the engine reads `spec.sources()` through the Git
adapter and passes the files in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fleet.planning import digests, manifests, patching, policies, scoping, selectors, substituting
from fleet.planning.desired import DesiredBundle, DesiredObject, DesiredState, FleetRender
from fleet.planning.manifests import ParsedBundle
from fleet.planning.specs import Bundle, BundleSource, FleetSpec, Patch, PatchType, Target
from fleet.structs import errors
from fleet.structs.clusters import Cluster
from fleet.structs.objects import GroupVersionKind, Manifest, ObjectKey
from fleet.structs.problems import Location, Problem
from fleet.structs.sources import SourceFile

MANAGED_BY = ("app.kubernetes.io/managed-by", "fleet")
"""The label, and its value, on every object fleet renders."""

BUNDLE_LABEL = "fleet.dev/bundle"
"""The label whose value is the name of the bundle an object belongs to; policies select
bundles by their labels and this one."""


def render_fleet(
    *,
    spec: FleetSpec,
    clusters: Iterable[Cluster],
    files: Mapping[BundleSource, Sequence[SourceFile] | errors.UserError],
) -> FleetRender:
    """Every cluster's desired state, parsing each bundle directory once.

    ``files`` holds, for each of ``spec.sources()``, the files read from that directory
    at that revision, or the `UserError` that reading it raised.
    """
    return render_parsed(spec=spec, clusters=clusters, parsed=parse_sources(files))


def parse_sources(
    files: Mapping[BundleSource, Sequence[SourceFile] | errors.UserError],
) -> dict[BundleSource, ParsedBundle]:
    """Each bundle directory parsed (`manifests.parse_bundle`): the half of rendering that
    does not depend on the cluster. Its problems are there even for a bundle that no
    cluster gets, which is how `fleet validate` reports them."""
    return {source: manifests.parse_bundle(source, found) for source, found in files.items()}


def render_parsed(
    *, spec: FleetSpec, clusters: Iterable[Cluster], parsed: Mapping[BundleSource, ParsedBundle]
) -> FleetRender:
    """`render_fleet`, from bundles already parsed (`parse_sources`)."""
    states = {
        cluster.name: render_cluster(spec=spec, cluster=cluster, parsed=parsed)
        for cluster in clusters
    }
    found_problems = dict.fromkeys(
        problem for state in states.values() for problem in state.problems
    )
    return FleetRender(states=states, problems=tuple(sorted(found_problems, key=Problem.sort_key)))


def render_cluster(
    *, spec: FleetSpec, cluster: Cluster, parsed: Mapping[BundleSource, ParsedBundle]
) -> DesiredState:
    """One cluster's desired state, from bundles already parsed (`manifests.parse_bundle`)."""
    works = [
        _Work(bundle, target, cluster, parsed.get(BundleSource(bundle.path, target.revision)))
        for bundle in spec.bundles
        if (target := choose_target(bundle, cluster)) is not None
    ]
    for work in works:
        work.substitute()
    scopes = scoping.Scopes.declared_by(manifest for work in works for manifest, _ in work.objects)
    for work in works:
        work.finish(scopes)
    _check_duplicates(works)
    _check_dependencies(works)
    for policy in spec.policies:
        for work in works:
            bundle_labels = work.bundle_labels
            if policies.applies(policy, cluster_labels=cluster.labels, bundle_labels=bundle_labels):
                for desired in work.rendered:
                    for message in policies.violations(policy, desired.key, desired.manifest):
                        work.problem(desired.source, message)
    bundles = tuple(work.result() for work in works)
    digest = digests.digest(sorted([bundle.name, bundle.digest] for bundle in bundles))
    return DesiredState(cluster=cluster.name, bundles=bundles, digest=digest)


def choose_target(bundle: Bundle, cluster: Cluster) -> Target | None:
    """The first target of ``bundle`` that selects ``cluster``, or None."""
    return next(
        (
            target
            for target in bundle.targets
            if selectors.matches(target.cluster_selector, cluster.labels)
        ),
        None,
    )


@dataclass(slots=True)
class _Work:
    """One bundle being rendered for one cluster: its objects so far and its problems."""

    bundle: Bundle
    target: Target
    cluster: Cluster
    parsed: ParsedBundle | None
    objects: list[tuple[Manifest, Location]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    rendered: list[DesiredObject] = field(default_factory=list)
    """The objects with their keys, once `finish` has run."""

    def problem(self, location: Location, message: str) -> None:
        self.problems.append(
            Problem(
                location,
                message,
                bundle=self.bundle.name,
                cluster=self.cluster.name,
                target=self.target.name,
            )
        )

    @property
    def parameters(self) -> substituting.Parameters:
        return substituting.Parameters.layered(
            self.target.params, self.bundle.params, cluster=self.cluster
        )

    @property
    def bundle_labels(self) -> Mapping[str, str]:
        return {**self.bundle.labels, BUNDLE_LABEL: self.bundle.name}

    def substitute(self) -> None:
        if self.parsed is None:
            source = BundleSource(self.bundle.path, self.target.revision)
            self.problem(self.bundle.location, f"the files of {source} were not read")
            return
        self.problems.extend(self.parsed.problems)
        parameters = self.parameters
        for manifest in self.parsed.manifests:
            value, found = substituting.fill(manifest.template, parameters)
            for location, message in found:
                self.problem(location, message)
            if (wrong := _identity_problem(value)) is not None:
                self.problem(manifest.location, wrong)
            else:
                self.objects.append((value, manifest.location))

    def finish(self, scopes: scoping.Scopes) -> None:
        for manifest, location in self.objects:
            self.default_namespace(manifest, location, scopes)
        for patch in self.target.patches:
            self.apply(patch)
        for manifest, location in self.objects:
            labels = manifest["metadata"].setdefault("labels", {})
            if isinstance(labels, dict):
                labels.update([MANAGED_BY, (BUNDLE_LABEL, self.bundle.name)])
            else:
                self.problem(location, "metadata.labels must be a mapping")
        self.rendered = [
            DesiredObject(ObjectKey.from_manifest(manifest), manifest, location)
            for manifest, location in self.objects
        ]

    def apply(self, patch: Patch) -> None:
        body, found = substituting.fill(patch.body, self.parameters)
        for location, message in found:
            self.problem(location, message)
        matched = False
        for index, (manifest, source) in enumerate(self.objects):
            key = ObjectKey.from_manifest(manifest)
            if not patching.aims_at(patch.target, key):
                continue
            matched = True
            try:
                if patch.type is PatchType.MERGE:
                    patched = patching.merge_patch(manifest, body)
                else:
                    patched = patching.json_patch(manifest, body)
            except patching.PatchFailed as failure:
                self.problem(patch.location, f"patch of {key}: {failure}")
                continue
            if (wrong := _identity_problem(patched)) is not None:
                self.problem(patch.location, f"after the patch of {key}: {wrong}")
                continue
            self.objects[index] = (patched, source)
        # When the bundle's files have problems, the object may be in a file that did not
        # parse: saying that the patch missed it would only repeat that problem.
        if not matched and self.parsed is not None and not self.parsed.problems:
            message = f"the patch matches no object of the bundle: {patch.target}"
            self.problem(patch.location, message)

    def default_namespace(
        self, manifest: Manifest, location: Location, scopes: scoping.Scopes
    ) -> None:
        metadata = manifest["metadata"]
        gvk = GroupVersionKind.from_api_version(manifest["apiVersion"], manifest["kind"])
        key = ObjectKey.from_manifest(manifest)
        if not scopes.namespaced(gvk):
            if metadata.get("namespace"):
                self.problem(
                    location, f"{key}: {gvk.kind} is cluster-scoped; remove metadata.namespace"
                )
        elif not metadata.get("namespace"):
            if self.bundle.namespace is None:
                self.problem(
                    location,
                    f"{key}: {gvk.kind} is namespaced, but neither the object nor bundle "
                    f"{self.bundle.name!r} gives a namespace",
                )
            else:
                metadata["namespace"] = self.bundle.namespace

    def result(self) -> DesiredBundle:
        objects = () if self.problems else tuple(sorted(self.rendered, key=lambda o: o.key))
        problems = tuple(sorted(dict.fromkeys(self.problems), key=Problem.sort_key))
        digest = digests.digest(
            {
                "bundle": self.bundle.name,
                "namespace": self.bundle.namespace,
                "drift": self.bundle.drift.value,
                "dependsOn": sorted(self.bundle.depends_on),
                "objects": [desired.manifest for desired in objects],
                "problems": [str(problem) for problem in problems],
            }
        )
        return DesiredBundle(
            name=self.bundle.name,
            target=self.target.name,
            namespace=self.bundle.namespace,
            drift=self.bundle.drift,
            depends_on=self.bundle.depends_on,
            revision=self.target.revision,
            objects=objects,
            problems=problems,
            digest=digest,
        )


def _identity_problem(manifest: Any) -> str | None:
    """What keeps ``manifest`` from being a Kubernetes object with a key, or None."""
    if not isinstance(manifest, dict):
        return "a manifest must be a mapping (one object)"
    metadata = manifest.get("metadata")
    if not isinstance(metadata, dict):
        return "metadata is missing" if metadata is None else "metadata must be a mapping"
    for field_name, value in (
        ("apiVersion", manifest.get("apiVersion")),
        ("kind", manifest.get("kind")),
        ("metadata.name", metadata.get("name")),
    ):
        if value is None:
            return f"{field_name} is missing"
        if not isinstance(value, str) or not value:
            return f"{field_name} must be a non-empty string"
    if not isinstance(metadata.get("namespace", ""), str):
        return "metadata.namespace must be a string"
    return None


def _check_duplicates(works: list[_Work]) -> None:
    """One object from two documents is an error; across bundles the later bundle is blocked.

    Blocking the bundle that comes later in `fleet.yaml` keeps the one that was there
    first running, which is what adding a conflicting bundle should not break.
    """
    seen: dict[ObjectKey, tuple[_Work, Location]] = {}
    for work in works:
        for desired in work.rendered:
            if desired.key not in seen:
                seen[desired.key] = (work, desired.source)
                continue
            first_work, first = seen[desired.key]
            other = "" if first_work is work else f" (bundle {first_work.bundle.name!r})"
            work.problem(desired.source, f"{desired.key} is also defined at {first}{other}")


def _check_dependencies(works: list[_Work]) -> None:
    present = {work.bundle.name for work in works}
    for work in works:
        for dependency in work.bundle.depends_on:
            if dependency not in present:
                work.problem(
                    work.bundle.location,
                    f"depends on bundle {dependency!r}, which none of its targets selects here",
                )
