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
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import yaml

import patches

DEFAULT_PATH: Final = "/var/lib/vcluster/config.yaml"
"""Where vCluster mounts its rendered vcluster.yaml in the control-plane pod."""

BLOCK: Final = ("sync", "toHost", "networkPolicies")
BLOCK_PATH: Final = ".".join(BLOCK)
_READ_KEYS: Final = ("enabled", "patches")

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
    """Things that do not stop the syncer but deserve a log line (ignored keys)."""

    def summary(self) -> str:
        """One line for logs and ``check-config``: what the controller will do."""
        count = len(self.patches)
        state = "enabled" if self.enabled else "disabled"
        text = f"{BLOCK_PATH}: {state}, {count} patch{'es' if count != 1 else ''}"
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
    """The file cannot be used; ``problems`` lists every reason (the process exits 2)."""

    def __init__(self, source: str, problems: Sequence[ConfigProblem]) -> None:
        self.source = source
        self.problems = tuple(problems)
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

    if problems:
        raise ConfigError(source, problems)
    return NetworkPolicySync(
        enabled=enabled, patches=patch_list, source=source, warnings=tuple(warnings)
    )


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
