"""The command line: `python -m fvdm generate | schedule | convert | info` (also installed as `fvdm`).

    generate  sample a video for one task and write it as MP4 (H.264) or GIF
    schedule  print a sampling plan as a table, draw it (PNG), save it (JSON), or validate a plan file
    convert   turn an official FVDM .pt checkpoint into a diffusers folder
    info      describe a model: its config, window, resolution, classes and size

Exit status: 0 on success; 2 for anything wrong with what the user gave (an unknown option, a
number out of range, a missing or unreadable file, an invalid plan), reported as one line on
stderr that starts with "error:"; 130 when interrupted. Any other exception is a bug in fvdm and
keeps its traceback.

The CLI only turns options into library calls: plans come from `fvdm.schedules`, sampling from
`FVDMPipeline`, files from `fvdm.video_io` and `fvdm.heatmap`. This module holds the parser and
`main`; each subcommand lives in a module of its own (`generate`, `schedule`, `convert`, `info`),
built from the option types of `arguments` and the file helpers of `files`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from fvdm import __version__
from fvdm.cli import convert, generate, info, schedule
from fvdm.cli.arguments import Parser
from fvdm.errors import FVDMInputError

PROG = "python -m fvdm"
EXIT_INPUT_ERROR = 2
EXIT_INTERRUPTED = 130


def build_parser() -> Parser:
    """The whole command line: one subparser per subcommand, each with its handler."""
    parser = Parser(prog=PROG, description="Frame-aware video diffusion: one model, every video task.")
    parser.add_argument("--version", action="version", version=f"fvdm {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
    for command in (generate, schedule, convert, info):
        command.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status (see the module docstring)."""
    from diffusers.utils import logging as diffusers_logging

    diffusers_logging.set_verbosity_error()
    diffusers_logging.disable_progress_bar()  # hides "Loading pipeline components"; sampling keeps its bar
    try:
        args = build_parser().parse_args(argv)
        args.handler(args)
    except FVDMInputError as error:
        print("error: " + " ".join(str(error).split()), file=sys.stderr)
        return EXIT_INPUT_ERROR
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away (`... | head`): nothing left to say
        sys.stdout = None
    return 0
