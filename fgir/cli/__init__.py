"""The ``fgir`` command line: sub-commands over the public API (``fgir.api``), no logic of their own.

Exit status: 0 success, 1 errors in the spec, 2 usage or I/O errors (a missing
package included), 3 an internal compiler error (a bug in fgir; set
FGIR_DEBUG=1 for the traceback).  One module a group of sub-commands.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from typing import Sequence

from fgir.cli import check, compile, prune, search, train, viz
from fgir.cli.common import EXIT_INTERNAL, EXIT_OK, EXIT_SPEC, EXIT_USAGE, UsageError
from fgir.diagnostics import FgirError, SpecIOError
from fgir.plugins import load_plugin

__all__ = ["build_parser", "load_plugin", "main"]


def build_parser() -> argparse.ArgumentParser:
    from fgir import __version__

    parser = argparse.ArgumentParser(prog="fgir", description="Compile fine-grained search-space specs.")
    parser.add_argument("--version", action="version", version=f"fgir {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (check, compile, viz, search, train, prune):
        module.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "dump_after", None) and "all" in args.dump_after:
        args.dump_after = "all"
    try:
        for plugin in getattr(args, "plugin", []):
            load_plugin(plugin)
        return args.func(args)
    except SpecIOError as exc:
        print(exc.render(), file=sys.stderr)
        return EXIT_USAGE
    except FgirError as exc:
        print(exc.render(), file=sys.stderr)
        count = len(exc.errors)
        where = f" (found by pass {exc.pass_name})" if exc.pass_name else ""
        print(f"fgir: {count} error{'s' if count != 1 else ''}{where}", file=sys.stderr)
        return EXIT_SPEC
    except UsageError as exc:
        print(f"fgir: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ModuleNotFoundError as exc:   # an optional package this command needs
        print(f"fgir: error: this needs the Python package '{exc.name}', which is not installed "
              f"(pip install {exc.name})", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # writing an output: a missing folder, a full disk, no permission
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"fgir: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `fgir summary | head`: the reader left; not an error of ours
        sys.stderr = sys.stdout = open(os.devnull, "w")
        return EXIT_OK
    except Exception as exc:  # a bug in fgir, not in the spec: say so plainly
        print(f"fgir: internal compiler error: {exc}", file=sys.stderr)
        if os.environ.get("FGIR_DEBUG"):
            traceback.print_exc()
        else:
            print("fgir: this is a bug in fgir; rerun with FGIR_DEBUG=1 for the traceback and "
                  "report it", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
