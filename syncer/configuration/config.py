"""The one block of vcluster.yaml this syncer reads: ``sync.toHost.networkPolicies``.

The file is the vCluster's own configuration, shared with vCluster itself, so everything outside
``enabled`` and ``patches`` is ignored, and unknown keys inside the block only produce warnings
(a newer vCluster may add fields there). Absent blocks mean the defaults: enabled, no patches.

A missing file is an error when the path was given explicitly (``--config`` or
``NETPOL_SYNCER_CONFIG``), because a typo in a path must not silently drop the configured
patches. When the default :data:`DEFAULT_PATH` does not exist (a standalone Deployment has no
vcluster.yaml mounted), the defaults apply and :attr:`NetworkPolicySync.source` is None so the
caller can log that it found no file.

Problems are reported with the line and the YAML path of the offending field, e.g.
``config.yaml:14: sync.toHost.networkPolicies.patches[3].op: unknown op 'ad'``, all at once.

A whole vcluster.yaml, as users have it, is understood too, for ``check-config``: every other
block is listed as ignored (:attr:`NetworkPolicySync.ignored`), vCluster's own patch entries are
refused with the RFC 6902 operation to write instead (:mod:`patches.vcluster`), and settings
under which this syncer starts but cannot do its job (multi-namespace mode) are
:attr:`NetworkPolicySync.unsupported`: ``run`` logs them as warnings, ``check-config`` fails.

About 390 lines, left whole: validating the block and explaining the rest of the file walk the
same YAML tree to locate each finding by line, and admin guardrails in the same file are
validated by :mod:`guardrails.config` already.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import yaml

import guardrails
import patches

DEFAULT_PATH: Final = "/var/lib/vcluster/config.yaml"
"""Where vCluster mounts its rendered vcluster.yaml in the control-plane pod."""

BLOCK: Final = ("sync", "toHost", "networkPolicies")
BLOCK_PATH: Final = ".".join(BLOCK)
_READ_KEYS: Final = ("enabled", "patches")
GUARDRAILS: Final = "guardrails"
"""The top-level block of admin guardrails (SPEC §9), read by :func:`guardrails.from_config`."""
COREDNS_EMBEDDED: Final = ("controlPlane", "coredns", "embedded")
"""vCluster runs CoreDNS inside the control-plane pod: ``dns: auto`` then targets that pod."""
NAMESPACES: Final = ("sync", "toHost", "namespaces")
"""vCluster's multi-namespace mode: each virtual namespace gets its own host namespace."""

_MULTI_NAMESPACE: Final = (
    "multi-namespace mode is not supported: vCluster then puts each virtual namespace's pods in"
    " a host namespace of its own, while netpol-syncer writes every copy into its one host"
    " namespace and scopes it by the vcluster.loft.sh/namespace label, so the copies would"
    " select no pod and the tenant's policies would not be enforced"
)
_IGNORED: Final = "ignored: netpol-syncer reads only " + BLOCK_PATH
_VC_WORK_STILL_ON: Final = (
    "guardrails.isolation: managed is set while policies.networkPolicy.enabled is true:"
    " vCluster's vc-work policy still lets every pod of this vCluster reach every other, so"
    " tenant denies stay void until it is turned off (policies.networkPolicy.enabled: false)"
)
_POLICIES_NOTE: Final = (
    "ignored by netpol-syncer; with it enabled vCluster's own policy lets all of this vCluster's"
    " pods reach each other, so a tenant policy that denies traffic between them has no effect"
    " on the host"
)

PathPart = str | int


@dataclass(frozen=True, slots=True)
class NetworkPolicySync:
    """The settings read from ``sync.toHost.networkPolicies``."""

    enabled: bool = True
    """False keeps the process up (health, metrics) but syncs nothing. Defaults to true: the
    syncer is deployed on purpose, so no block at all means "sync"."""
    patches: patches.PatchList = field(default_factory=patches.PatchList)
    """Validated and compiled; empty when the key is absent or null."""
    source: str | None = None
    """The file this came from; None when the defaults were used because no file existed."""
    warnings: tuple[str, ...] = ()
    """Things that do not stop the syncer but deserve a log line (ignored keys, unsupported
    settings)."""
    ignored: tuple[ConfigProblem, ...] = ()
    """The blocks of a whole vcluster.yaml this syncer does not read, located, for
    ``check-config`` (too many for a log line at every start)."""
    unsupported: tuple[ConfigProblem, ...] = ()
    """Settings the syncer starts under but cannot serve; also in :attr:`warnings`, so ``run``
    logs them, while ``check-config`` reports them as problems (exit 2)."""
    guardrails: guardrails.Guardrails = field(default_factory=guardrails.Guardrails)
    """The top-level ``guardrails`` block; every guardrail off when it is absent."""
    dns_embedded: bool = False
    """``controlPlane.coredns.embedded`` is true (only read for ``dns: auto``)."""

    def summary(self) -> str:
        """One line for logs and ``check-config``: what the controller will do."""
        count = len(self.patches)
        state = "enabled" if self.enabled else "disabled"
        text = f"{BLOCK_PATH}: {state}, {count} patch{'es' if count != 1 else ''}"
        if self.guardrails.enabled:
            text += "; " + _describe_guardrails(self.guardrails)
        return text + (f" (from {self.source})" if self.source else " (defaults: no config file)")


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One thing wrong with the file, located by YAML path and, when known, line."""

    path: str
    message: str
    line: int | None = None

    def format(self, source: str) -> str:
        where = f"{source}:{self.line}" if self.line is not None else source
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ConfigError(Exception):
    """The file cannot be used; ``problems`` lists every reason (the process exits 2).

    ``ignored`` and ``unsupported`` are what :class:`NetworkPolicySync` would have said about
    the rest of the file, so ``check-config`` can explain all of it at once.
    """

    def __init__(
        self,
        source: str,
        problems: Sequence[ConfigProblem],
        *,
        ignored: Sequence[ConfigProblem] = (),
        unsupported: Sequence[ConfigProblem] = (),
    ) -> None:
        self.source = source
        self.problems = tuple(problems)
        self.ignored = tuple(ignored)
        self.unsupported = tuple(unsupported)
        super().__init__("\n".join(p.format(source) for p in self.problems))


def load(path: str | os.PathLike[str], *, missing_ok: bool = False) -> NetworkPolicySync:
    """Read and validate the file at ``path``; ``missing_ok`` turns "no such file" into defaults.

    Raises :class:`ConfigError`.
    """
    source = os.fspath(path)
    try:
        with open(source, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        if missing_ok:
            return NetworkPolicySync()
        raise ConfigError(source, [ConfigProblem("", "no such file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(source, [ConfigProblem("", f"cannot read: {reason}")]) from None
    return loads(text, source=source)


def loads(text: str, *, source: str = "<config>") -> NetworkPolicySync:
    """Parse and validate vcluster.yaml ``text``; ``source`` names it in messages."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        document = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        reason = ", ".join(part for part in (exc.context, exc.problem) if part) or str(exc)
        message = f"not valid YAML: {reason}"
        raise ConfigError(source, [ConfigProblem("", message, line)]) from None
    except yaml.YAMLError as exc:
        raise ConfigError(source, [ConfigProblem("", f"not valid YAML: {exc}")]) from None
    finally:
        loader.dispose()
    return from_document(document, source=source, node=node)


def from_document(
    document: object, *, source: str = "<config>", node: yaml.Node | None = None
) -> NetworkPolicySync:
    """Validate an already parsed vcluster.yaml; ``node`` (the YAML tree) adds line numbers."""
    problems: list[ConfigProblem] = []
    warnings: list[str] = []

    def problem(parts: Sequence[PathPart], message: str) -> None:
        problems.append(ConfigProblem(_yaml_path(parts), message, _line(node, parts)))

    block: object = document
    for depth, key in enumerate(BLOCK):
        if block is None:
            break
        if not isinstance(block, Mapping):
            problem(BLOCK[:depth], f"expected a mapping, got {_kind(block)}")
            block = None
            break
        block = block.get(key)

    if block is not None and not isinstance(block, Mapping):
        problem(BLOCK, f"expected a mapping, got {_kind(block)}")
    enabled = True
    patch_list = patches.PatchList()
    if isinstance(block, Mapping):
        for key in block:
            if key not in _READ_KEYS:
                warnings.append(
                    f"{BLOCK_PATH}.{key}: ignored (this syncer reads only enabled and patches)"
                )
        raw_enabled = block.get("enabled")
        if isinstance(raw_enabled, bool):
            enabled = raw_enabled
        elif raw_enabled is not None:
            problem([*BLOCK, "enabled"], f"expected true or false, got {_kind(raw_enabled)}")
        raw_patches = block.get("patches")
        if raw_patches is not None:
            found = patches.problems(raw_patches)
            for p in found:
                parts: list[PathPart] = [*BLOCK, "patches"]
                if p.index is not None:
                    parts.append(p.index)
                    if p.field is not None:
                        parts.append(p.field)
                problems.append(
                    ConfigProblem(
                        p.location(f"{BLOCK_PATH}.patches"), p.message, _line(node, parts)
                    )
                )
            if not found:
                patch_list = patches.parse(raw_patches)

    rails = guardrails.Guardrails()
    if isinstance(document, Mapping):
        try:
            rails = guardrails.from_config(document)
        except guardrails.GuardrailsError as exc:
            problems.extend(_guardrail_problem(text, node) for text in exc.problems)

    ignored = list(_ignored(document, node))
    unsupported = list(_unsupported(document, node))
    warnings.extend(str(u) for u in unsupported)
    if rails.isolation == "managed" and _policies_isolate(_get(document, ["policies"])):
        warnings.append(_VC_WORK_STILL_ON)
    if problems:
        raise ConfigError(source, problems, ignored=ignored, unsupported=unsupported)
    return NetworkPolicySync(
        enabled=enabled,
        patches=patch_list,
        source=source,
        warnings=tuple(warnings),
        ignored=tuple(ignored),
        unsupported=tuple(unsupported),
        guardrails=rails,
        dns_embedded=_get(document, COREDNS_EMBEDDED) is True,
    )


def _describe_guardrails(rails: guardrails.Guardrails) -> str:
    parts = []
    if rails.dns != "off":
        parts.append(f"dns: {rails.dns}")
    if rails.blocked_cidrs:
        parts.append(f"{len(rails.blocked_cidrs)} blocked CIDRs")
    if rails.host_peers:
        parts.append(f"host peers: {', '.join(sorted(rails.host_peers))}")
    if rails.isolation != "off":
        parts.append(f"isolation: {rails.isolation}")
    return "guardrails: " + ", ".join(parts)


_PATH_PART: Final = re.compile(r"\.?([^.\[\]]+)|\[(\d+)\]")


def _guardrail_problem(text: str, node: yaml.Node | None) -> ConfigProblem:
    """``guardrails.blockedCIDRs[2]: '10.0.0.0/33' is not a CIDR`` located in the file."""
    path, sep, message = text.partition(": ")
    if not sep or not path.startswith(GUARDRAILS):
        return ConfigProblem(GUARDRAILS, text, _line(node, [GUARDRAILS]))
    parts: list[PathPart] = [
        int(index) if index else key for key, index in _PATH_PART.findall(path)
    ]
    return ConfigProblem(path, message, _line(node, parts))


def _ignored(document: object, node: yaml.Node | None) -> Iterator[ConfigProblem]:
    """Every block of a whole vcluster.yaml outside the one this syncer reads, in file order.

    Listed at the level where it parts from ``sync.toHost.networkPolicies`` (``controlPlane``,
    ``sync.fromHost``, ``sync.toHost.pods``), so a typical vcluster.yaml gives a few lines.
    """
    found: list[ConfigProblem] = []
    level: object = document
    for depth, key in enumerate(BLOCK):
        if not isinstance(level, Mapping):
            break
        for other in level:
            parts: list[PathPart] = [*BLOCK[:depth], str(other)]
            message = _IGNORED
            if other == key or (tuple(parts) == NAMESPACES and _multi_namespace(document)):
                continue
            if depth == 0 and other == GUARDRAILS:
                continue
            if tuple(parts) == ("policies",) and _policies_isolate(level[other]):
                parts, message = [*parts, "networkPolicy"], _POLICIES_NOTE
                if _get(document, [GUARDRAILS, "isolation"]) == "managed":
                    message += "; turn it off (enabled: false) for guardrails.isolation: managed"
            found.append(ConfigProblem(_yaml_path(parts), message, _key_line(node, parts)))
        level = level.get(key)
    yield from sorted(found, key=lambda p: (p.line is None, p.line or 0))


def _unsupported(document: object, node: yaml.Node | None) -> Iterator[ConfigProblem]:
    if _multi_namespace(document):
        parts = [*NAMESPACES, "enabled"]
        yield ConfigProblem(_yaml_path(parts), _MULTI_NAMESPACE, _line(node, parts))


def _multi_namespace(document: object) -> bool:
    namespaces = _get(document, NAMESPACES)
    return isinstance(namespaces, Mapping) and namespaces.get("enabled") is True


def _policies_isolate(policies: object) -> bool:
    network_policy = policies.get("networkPolicy") if isinstance(policies, Mapping) else None
    return isinstance(network_policy, Mapping) and network_policy.get("enabled") is True


def _get(document: object, parts: Sequence[str]) -> object:
    for part in parts:
        if not isinstance(document, Mapping):
            return None
        document = document.get(part)
    return document


def _yaml_path(parts: Sequence[PathPart]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "(document root)"


def _line(node: yaml.Node | None, parts: Sequence[PathPart]) -> int | None:
    """1-based line of the deepest node along ``parts`` (the field, or the entry lacking it)."""
    if node is None:
        return None
    found = node
    for child in _walk(node, parts):
        found = child
    return found.start_mark.line + 1


def _key_line(node: yaml.Node | None, parts: Sequence[PathPart]) -> int | None:
    """1-based line of the key that ends ``parts`` (where a block starts, not its first child)."""
    if node is None or not parts:
        return _line(node, parts)
    parents = list(_walk(node, parts[:-1]))
    mapping = parents[-1] if parents else node
    if len(parents) == len(parts) - 1 and isinstance(mapping, yaml.MappingNode):
        for key_node, _ in mapping.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(parts[-1]):
                return key_node.start_mark.line + 1
    return _line(node, parts)


def _walk(node: yaml.Node, parts: Sequence[PathPart]) -> Iterator[yaml.Node]:
    for part in parts:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(part):
                    child = value_node
                    break
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            child = node.value[part]
        if child is None:
            return
        yield child
        node = child


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the string {value!r}"
    return f"{type(value).__name__} {value!r}"
