"""The ``netpol-syncer`` command line: ``run``, ``translate``, ``check-config``, ``demo``,
``version``.

Only flags live here. ``run`` resolves its flags into
:class:`syncer.configuration.settings.Settings` (all problems at once, exit 2) and only then
imports the controller, so a bad flag never waits for the asyncio stack to load; ``demo`` hands
its arguments to :mod:`syncer.commands.demo`. The offline commands' work is in
:mod:`syncer.commands.offline`.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Sequence
from typing import cast

import translate
from syncer.commands import checking, offline
from syncer.configuration import config, flags, parsing, resolving, settings

_DESCRIPTION = (
    "Sync NetworkPolicies from a vCluster into its host namespace, rewritten so they select"
    " only that vCluster's pods."
)

_EPILOG = (
    "Exit codes: 0 success; 1 some objects were not translated (translate); 2 invalid flags,"
    " configuration or input."
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="netpol-syncer", description=_DESCRIPTION, epilog=_EPILOG)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = commands.add_parser(
        "run",
        help="run the controller",
        description="Run the controller. Every flag can also be set through the environment"
        " variable NETPOL_SYNCER_<FLAG> (e.g. NETPOL_SYNCER_HOST_NAMESPACE); a flag wins over"
        " the environment.",
    )
    for opt in flags.OPTIONS:
        if opt.boolean:
            run.add_argument(
                opt.flag,
                dest=opt.setting,
                nargs="?",
                const="true",
                metavar=opt.metavar,
                help=opt.help_text,
            )
        else:
            run.add_argument(opt.flag, dest=opt.setting, metavar=opt.metavar, help=opt.help_text)

    tr = commands.add_parser(
        "translate",
        help="print the host objects for NetworkPolicies read from a file, offline",
        description="Translate virtual NetworkPolicies (multi-document YAML, JSON, or a v1"
        " List) into the host objects the controller would write, in input order. Objects"
        " that are not NetworkPolicies or that a patch refuses are reported on stderr (exit"
        " 1); the others are still printed.",
    )
    tr.add_argument(
        "--name",
        metavar="VC",
        help="vCluster name (default: $NETPOL_SYNCER_NAME, then $VCLUSTER_NAME)",
    )
    tr.add_argument(
        "--host-namespace",
        metavar="NS",
        help="host namespace (default: $NETPOL_SYNCER_HOST_NAMESPACE)",
    )
    tr.add_argument("--config", metavar="FILE", help="vcluster.yaml whose patches to apply")
    tr.add_argument(
        "-n",
        "--namespace",
        metavar="DEFAULT_NS",
        default="default",
        help="virtual namespace for objects without one (default: default)",
    )
    tr.add_argument(
        "-f", "--filename", required=True, metavar="FILE", help="input file, or - for stdin"
    )
    tr.add_argument(
        "-o",
        "--output",
        choices=("yaml", "json"),
        default="yaml",
        help="YAML documents (default) or one JSON v1 List",
    )

    check = commands.add_parser(
        "check-config",
        help="validate a vcluster.yaml's sync.toHost.networkPolicies block",
        description="Validate sync.toHost.networkPolicies of a vcluster.yaml as run would."
        " Exit 0 with a one-line summary, or 2 with every problem listed.",
    )
    check.add_argument(
        "--config",
        metavar="FILE",
        help=f"default: $NETPOL_SYNCER_CONFIG, then {config.DEFAULT_PATH}",
    )

    commands.add_parser(
        "demo",
        help="sync example policies between two embedded API servers and show the result",
        add_help=False,  # its arguments, --help included, belong to syncer.commands.demo
    )

    commands.add_parser("version", help="print the version", description="Print the version.")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``netpol-syncer`` console script; returns the exit code."""
    try:
        return _dispatch(argv)
    except BrokenPipeError:
        # `netpol-syncer translate ... | head`: the reader left. Exit like a shell pipeline
        # would (128 + SIGPIPE) without a traceback, and keep the final flush from failing.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


def _dispatch(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    command = cast(str, args.command)
    if extra and command != "demo":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if command == "run":
        return _run(args)
    if command == "translate":
        return _translate(args)
    if command == "check-config":
        explicit = args.config or os.environ.get(flags.option("config_path").env) or None
        return checking.check_config_command(
            path=explicit or config.DEFAULT_PATH,
            explicit=explicit is not None,
            stdout=sys.stdout,
            stderr=sys.stderr,
        )
    if command == "demo":
        # Imported here: the demo pulls in the API emulator, which nothing else needs.
        from syncer.commands import demo

        code: int = demo.main(extra)
        return code
    print(offline.version_text())
    return offline.OK


def _run(args: argparse.Namespace) -> int:
    given = {opt.setting: getattr(args, opt.setting) for opt in flags.OPTIONS}
    try:
        resolved = resolving.resolve(given, environ=os.environ)
    except settings.SettingsError as exc:
        print("netpol-syncer run: invalid settings:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return offline.UNUSABLE

    # Imported only once the settings are valid: a bad flag should not wait for the controller.
    import asyncio

    from syncer.commands import running

    try:
        code: int = asyncio.run(running.run(resolved))
        return code
    except KeyboardInterrupt:
        return 130


def _translate(args: argparse.Namespace) -> int:
    problems: list[str] = []
    values: dict[str, str] = {}
    for name in ("name", "host_namespace"):
        # Offline, the pod's namespace means nothing: only the syncer's own variable counts.
        opt = flags.option(name)
        if name == "host_namespace":
            opt = dataclasses.replace(opt, fallback_env=())
        picked = resolving.pick(opt, {name: getattr(args, name)}, os.environ)
        if picked is None:
            problems.append(f"{opt.flag} is required (or set {opt.env})")
            continue
        raw, origin = picked
        try:
            values[name] = parsing.parse_dns_label(raw)
        except ValueError as exc:
            problems.append(f"{origin}: {exc}")
    try:
        parsing.parse_dns_label(args.namespace)
    except ValueError as exc:
        problems.append(f"--namespace: {exc}")
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        return offline.UNUSABLE
    return offline.translate_command(
        source=args.filename,
        target=translate.Target(vcluster=values["name"], host_namespace=values["host_namespace"]),
        config_path=args.config,
        default_namespace=args.namespace,
        output=args.output,
        stdin=sys.stdin,
        stdout=sys.stdout,
        stderr=sys.stderr,
    )


if __name__ == "__main__":
    sys.exit(main())
