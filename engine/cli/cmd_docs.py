"""`ddengine docs`: build a destination's reference page from its spec files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from engine import docgen


def register(subparsers: Any) -> None:
    """Add the `docs` command group to the CLI."""
    parser = subparsers.add_parser("docs", help="Generate reference pages from spec files.",
                                   description="Generate reference pages from spec files.")
    commands = parser.add_subparsers(dest="docs_command", metavar="SUBCOMMAND")
    gen = commands.add_parser(
        "generate",
        help="Render a destination's Markdown page (settings, actions, fields, examples).",
        description="Render a destination's Markdown page from destination.json, actions/*.json, "
        "one fixture per action as the example, and the hand-written pages in docs/*.md of the "
        "spec folder.",
    )
    gen.add_argument("destination", metavar="DESTINATION",
                     help="Bundled destination slug (e.g. dotdigital) or a path to a destination folder.")
    gen.add_argument("--out", metavar="FILE", type=Path, default=None,
                     help="Write the page to FILE instead of standard output.")
    gen.add_argument("--check", action="store_true",
                     help="Do not write; exit 1 and print a diff when FILE differs from the specs.")
    gen.set_defaults(handler=_generate)
    parser.set_defaults(handler=lambda args: (parser.print_help(), 2)[1])


def _generate(args: argparse.Namespace) -> int:
    if args.check:
        if args.out is None:
            print("error: --check needs --out FILE (the committed page to compare)", file=sys.stderr)
            return 2
        result = docgen.check(args.destination, args.out)
        if result.up_to_date:
            print(f"{args.out} is up to date")
            return 0
        sys.stdout.write(result.diff)
        print(f"{args.out} is out of date: run `ddengine docs generate {args.destination} --out {args.out}`",
              file=sys.stderr)
        return 1
    page = docgen.generate(args.destination)
    if args.out is None:
        sys.stdout.write(page)
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(page, encoding="utf-8")
        print(f"wrote {args.out}")
    return 0
