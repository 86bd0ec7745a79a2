"""`spectralsplats`: the command line (also `python -m spectralsplats_addon`).

Each subcommand is a module ``spectralsplats_addon/cli/<name>.py`` with ``HELP: str``,
``add_arguments(parser)`` and ``run(args) -> int``, imported by name from SUBCOMMANDS. A
module that is missing, or that lacks one of the three, still shows in ``--help`` and
answers with a message saying so (exit 2), so one broken subcommand never hides the others.
Modules import torch inside ``run``, so ``--help`` stays quick. docs/command-line.md.
"""

from __future__ import annotations

import argparse
import importlib
import sys

SUBCOMMANDS = ("track", "preview", "render", "example", "eval", "batch")
REQUIRED = ("HELP", "add_arguments", "run")
EXIT_USAGE = 2

DESCRIPTION = ("Track the motion of a 3D Gaussian Splatting asset (.ply) in a video with "
               "spectral-moment supervision, render the result, and run the examples and "
               "the evaluation. Run `spectralsplats COMMAND --help` for each command.")


def load_subcommand(name: str):
    """(module, None), or (None, why it cannot be used)."""
    try:
        module = importlib.import_module(f"{__package__}.{name}")
    except ModuleNotFoundError as error:
        if error.name == f"{__package__}.{name}":
            where = __package__.replace(".", "/")
            return None, (f"the command {name!r} is not part of this installation "
                          f"({where}/{name}.py is missing); update or reinstall "
                          "spectralsplats")
        return None, (f"the command {name!r} needs the module {error.name!r}, which is not "
                      "installed; install it (pip install -e \".[all]\" in a checkout)")
    except Exception as error:  # a broken module must not take the other commands down
        return None, f"the command {name!r} failed to load: {type(error).__name__}: {error}"
    missing = [attr for attr in REQUIRED if not hasattr(module, attr)]
    if missing:
        return None, (f"the command {name!r} is incomplete: {module.__name__} lacks "
                      f"{', '.join(missing)}; update or reinstall spectralsplats")
    return module, None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spectralsplats", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        module, problem = load_subcommand(name)
        if module is None:
            sub = commands.add_parser(name, help=f"(unavailable) {problem}",
                                      description=problem)
            sub.set_defaults(run=None, problem=problem)
            continue
        doc = (module.__doc__ or "").strip()
        sub = commands.add_parser(name, help=module.HELP, description=doc or module.HELP,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run, problem=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default sys.argv[1:]) and run the subcommand; returns the exit code."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    if args.run is None:  # whatever arguments follow: the command itself is missing
        print(f"spectralsplats {args.command}: {args.problem}", file=sys.stderr)
        return EXIT_USAGE
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    return int(args.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
