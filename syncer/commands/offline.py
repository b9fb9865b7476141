"""The offline commands' work: ``translate`` and ``version`` (``check-config`` is in
:mod:`syncer.commands.checking`).

They share the controller's code paths (:func:`translate.to_host`, :meth:`patches.PatchList.apply`
and :mod:`syncer.configuration.config`), so what ``translate`` prints is what ``run`` would
write, and
``check-config`` accepts the files ``run`` accepts, except settings ``run`` starts under but
cannot serve (multi-namespace mode), which it only logs. This module owns their file I/O;
:mod:`syncer.commands.cli` owns the flags.

Exit codes: 0 success; 1 some objects were skipped or refused (the others are still printed);
2 the input or the configuration cannot be used at all.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Final, Literal, TextIO, cast

import yaml

import guardrails
import patches
import translate
from syncer.configuration import config

OK: Final = 0
SOME_FAILED: Final = 1
UNUSABLE: Final = 2

OutputFormat = Literal["yaml", "json"]

DISTRIBUTION: Final = "netpol-syncer"


class InputError(Exception):
    """The input as a whole cannot be read or parsed (exit 2)."""


@dataclass(frozen=True, slots=True)
class Item:
    """One object of the input and where it was found, for messages."""

    where: str
    """``document 2`` or ``document 2, items[0]`` (documents count from 1)."""
    obj: object


# --- translate ---


def read_text(source: str, stdin: TextIO) -> str:
    """The text of ``source``, a path or ``-`` for standard input."""
    if source == "-":
        return stdin.read()
    try:
        with open(source, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        raise InputError(f"{source}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InputError(f"{source}: cannot read: {reason}") from None


def parse_documents(text: str, *, name: str) -> list[object]:
    """Every document of multi-document YAML or of JSON, in order; empty documents dropped.

    JSON is tried first when the text looks like JSON, so its errors are reported as JSON errors.
    """
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        try:
            return [json.loads(text)]
        except json.JSONDecodeError as exc:
            json_error = f"line {exc.lineno}, column {exc.colno}: {exc.msg}"
        try:
            return [d for d in yaml.safe_load_all(text) if d is not None]
        except yaml.YAMLError:
            raise InputError(f"{name}: not valid JSON: {json_error}") from None
    try:
        return [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise InputError(f"{name}: not valid YAML: {where}{exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{name}: not valid YAML: {exc}") from None


def items(documents: Sequence[object]) -> Iterator[Item]:
    """Objects in input order, with ``List`` documents (and bare JSON arrays) expanded."""
    for number, document in enumerate(documents, start=1):
        where = f"document {number}"
        if isinstance(document, Mapping) and _is_list(document):
            for index, obj in enumerate(document.get("items") or []):
                yield Item(f"{where}, items[{index}]", obj)
        elif isinstance(document, list):
            for index, obj in enumerate(document):
                yield Item(f"{where}, [{index}]", obj)
        else:
            yield Item(where, document)


def translate_item(
    item: Item,
    *,
    target: translate.Target,
    patch_list: patches.PatchList,
    default_namespace: str,
    rails: guardrails.Guardrails | None = None,
    context: guardrails.Context | None = None,
) -> guardrails.Narrowed:
    """The host object for one input object and what the guardrails changed in it (SPEC §9;
    none without ``rails``); raises ValueError with a message naming it."""
    obj = item.obj
    if not isinstance(obj, Mapping):
        raise ValueError(f"{item.where}: expected a Kubernetes object, got {_kind(obj)}; skipped")
    kind = obj.get("kind")
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    namespace = meta.get("namespace") or default_namespace
    label = f"{kind or 'object without kind'} {namespace}/{meta.get('name', '<no name>')}"
    if kind != translate.types.KIND:
        raise ValueError(f"{item.where}: {label} is not a NetworkPolicy; skipped")
    api_version = obj.get("apiVersion", translate.types.API_VERSION)
    if api_version != translate.types.API_VERSION:
        raise ValueError(
            f"{item.where}: {label} has apiVersion {api_version!r}; only"
            f" {translate.types.API_VERSION} is supported; skipped"
        )
    if not isinstance(meta.get("name"), str) or not meta["name"]:
        raise ValueError(f"{item.where}: {label} has no metadata.name; skipped")
    if not isinstance(namespace, str):
        raise ValueError(f"{item.where}: {label} has a non-string metadata.namespace; skipped")
    virtual = cast(translate.NetworkPolicy, {**obj, "metadata": {**meta, "namespace": namespace}})
    try:
        translate.to_host(virtual, target)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise ValueError(
            f"{item.where}: {label} is malformed and cannot be translated"
            f" ({type(exc).__name__}: {exc}); skipped"
        ) from exc
    result = guardrails.host_copy(
        virtual,
        target=target,
        patch_list=patch_list,
        rails=rails or guardrails.Guardrails(),
        context=context,
    )
    if isinstance(result, guardrails.Refusal):
        raise ValueError(f"{item.where}: {result.message}")
    return result


def offline_context(sync: config.NetworkPolicySync, target: translate.Target) -> guardrails.Context:
    """What ``run`` would know about the vCluster, assumed: the default kube-dns Service
    (offline there is no cluster to read), and CoreDNS embedded in the control-plane pod when
    the config file says so."""
    if sync.guardrails.dns != "auto":
        return guardrails.Context()
    facts = guardrails.facts_from_service(
        guardrails.dns.DEFAULT_SERVICE, target.vcluster, embedded=sync.dns_embedded
    )
    return guardrails.Context(dns=facts)


def translate_command(
    *,
    source: str,
    target: translate.Target,
    config_path: str | None,
    default_namespace: str,
    output: OutputFormat,
    stdin: TextIO,
    stdout: TextIO,
    stderr: TextIO,
) -> int:
    """``netpol-syncer translate``: print host objects for the input, in input order.

    What the guardrails changed is printed too: a YAML comment above each changed document, or
    with ``-o json`` one ``note: NetworkPolicy <namespace>/<name>: <what>`` line per change on
    standard error (the JSON itself stays exactly what ``run`` writes).
    """
    patch_list = patches.PatchList()
    rails = guardrails.Guardrails()
    context = guardrails.Context()
    if config_path is not None:
        try:
            sync = config.load(config_path)
        except config.ConfigError as exc:
            print_problems(exc.source, exc.problems, stderr)
            return UNUSABLE
        patch_list = sync.patches
        rails = sync.guardrails
        context = offline_context(sync, target)
        for warning in sync.warnings:
            print(f"warning: {config_path}: {warning}", file=stderr)
        if not sync.enabled:
            print(
                f"note: {config_path}: {config.BLOCK_PATH}.enabled is false; the controller"
                " would sync none of these objects",
                file=stderr,
            )
    try:
        documents = parse_documents(read_text(source, stdin), name=_input_name(source))
    except InputError as exc:
        print(f"error: {exc}", file=stderr)
        return UNUSABLE

    hosts: list[translate.NetworkPolicy] = []
    notes: list[tuple[str, ...]] = []
    failures = 0
    for item in items(documents):
        try:
            result = translate_item(
                item,
                target=target,
                patch_list=patch_list,
                default_namespace=default_namespace,
                rails=rails,
                context=context,
            )
        except ValueError as exc:
            failures += 1
            print(f"error: {exc}", file=stderr)
            continue
        hosts.append(result.policy)
        notes.append(tuple(f"guardrails: {note}" for note in result.notes))
    if output == "json":
        for host, said in zip(hosts, notes, strict=True):
            for note in said:
                print(f"note: NetworkPolicy {_virtual_name(host)}: {note}", file=stderr)
    write_objects(hosts, output, stdout, comments=notes if any(notes) else None)
    if failures:
        print(f"error: {failures} object(s) not translated; {len(hosts)} printed", file=stderr)
        return SOME_FAILED
    return OK


def write_objects(
    objs: Sequence[translate.NetworkPolicy],
    output: OutputFormat,
    out: TextIO,
    *,
    comments: Sequence[Sequence[str]] | None = None,
) -> None:
    """YAML documents, or one JSON ``v1 List`` (what ``kubectl apply -f`` accepts).

    ``comments`` (one sequence per object) are written as ``#`` lines above each YAML document.
    """
    if output == "json":
        body = {"apiVersion": "v1", "kind": "List", "items": list(objs)}
        out.write(json.dumps(body, indent=2) + "\n")
    elif comments is not None:
        for obj, said in zip(objs, comments, strict=True):
            for line in said:
                out.write(f"# {line}\n")
            _dump_yaml([obj], out)
    elif objs:
        _dump_yaml(list(objs), out)


def _dump_yaml(objs: list[translate.NetworkPolicy], out: TextIO) -> None:
    yaml.safe_dump_all(
        objs, out, sort_keys=False, explicit_start=True, default_flow_style=False, width=1_000_000
    )


def _virtual_name(host: translate.NetworkPolicy) -> str:
    annotations = host.get("metadata", {}).get("annotations", {})
    namespace = annotations.get(translate.markers.OBJECT_NAMESPACE, "")
    return f"{namespace}/{annotations.get(translate.markers.OBJECT_NAME, '')}"


def print_problems(source: str, problems: Sequence[config.ConfigProblem], stderr: TextIO) -> None:
    """Each problem on its own line, in file order, then the count."""
    for problem in sorted(problems, key=lambda p: (p.line is None, p.line or 0)):
        print(f"error: {problem.format(source)}", file=stderr)
    count = len(problems)
    print(f"{source}: {count} problem{'s' if count != 1 else ''}", file=stderr)


# --- version ---


def version_text() -> str:
    """``netpol-syncer 0.1.0 (Python 3.11.7)``; the version comes from the installed metadata."""
    try:
        version = metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        version = "unknown (not installed)"
    return f"{DISTRIBUTION} {version} (Python {platform.python_version()})"


# --- helpers ---


def _is_list(document: Mapping[str, Any]) -> bool:
    kind = document.get("kind")
    return (
        isinstance(kind, str)
        and kind.endswith("List")
        and isinstance(document.get("items", []), list | type(None))
    )


def _input_name(source: str) -> str:
    return "standard input" if source == "-" else source


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    return type(value).__name__
