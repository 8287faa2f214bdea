"""`rdagent-policies`: the pack's own command, for repositories that install only the pack.

    rdagent-policies path                        the pack folder for `pulumi ... --policy-pack`
    rdagent-policies check PATH... [--config FILE] [--format text|json|sarif|junit]
    rdagent-policies version

`check` is `rdagent-infra policy check`: exit 0 clean, 1 mandatory findings, 2 bad input."""

from __future__ import annotations

import argparse
import sys
from importlib.resources import files
from pathlib import Path
from typing import TextIO

from rdagent_policies import __version__, policy_config
from rdagent_policies.manifest_check import ManifestError, check
from rdagent_policies.report_formats import FORMATS, render

EXIT_FINDINGS = 1
EXIT_USAGE = 2


def pack_dir() -> Path:
    return Path(str(files("rdagent_policies").joinpath("pulumi_pack")))


def run_check(paths: list[Path], config: Path | None, fmt: str, out: TextIO, err: TextIO) -> int:
    if fmt not in FORMATS:
        print(f"policy check: --format must be one of {', '.join(FORMATS)}, got {fmt!r}", file=err)
        return EXIT_USAGE
    try:
        levels, settings = policy_config.load(config)
        findings = check(paths, levels, settings)
    except (ManifestError, policy_config.PolicyConfigError) as exc:
        print(f"policy check: {exc}", file=err)
        return EXIT_USAGE
    out.write(render(findings, fmt))
    mandatory = sum(1 for f in findings if f.level == "mandatory")
    print(f"policy check: {mandatory} mandatory, {len(findings) - mandatory} advisory finding(s)", file=err)
    return EXIT_FINDINGS if mandatory else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rdagent-policies", description="rdagent's CrossGuard policy pack.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("path", help="print the pack folder (for --policy-pack)")
    commands.add_parser("version", help="print the pack's version")
    checking = commands.add_parser("check", help="run the rules over plain Kubernetes manifests")
    checking.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    checking.add_argument("--config", type=Path, help="a policy config JSON (policy name -> level or {enforcementLevel, ...})")
    checking.add_argument("--format", default="text", dest="fmt", help=f"one of {', '.join(FORMATS)} (default text)")
    args = parser.parse_args(argv)
    if args.command == "path":
        print(pack_dir())
        return 0
    if args.command == "version":
        print(__version__)
        return 0
    return run_check(args.paths, args.config, args.fmt, sys.stdout, sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
