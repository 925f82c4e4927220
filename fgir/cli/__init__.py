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

from fgir.cli import (blocks, check, compile, extract, latency, predict, prune, quantize, report, search, space,
                      supernet, train, viz)
from fgir.cli.common import EXIT_INTERNAL, EXIT_OK, EXIT_SPEC, EXIT_USAGE, UsageError, missing_package_message
from fgir.diagnostics import ArgumentError, FgirError, SpecIOError, printable
from fgir.limits import human_bytes, machine_memory
from fgir.plugins import load_plugin

__all__ = ["build_parser", "load_plugin", "main"]


def build_parser() -> argparse.ArgumentParser:
    from fgir import __version__

    parser = argparse.ArgumentParser(prog="fgir", description="Compile fine-grained search-space specs.")
    parser.add_argument("--version", action="version", version=f"fgir {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (check, compile, viz, search, space, latency, supernet, train, extract, predict, prune, quantize,
                   blocks, report):
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
        status = args.func(args)
        sys.stdout.flush()   # here, not at exit: a reader that left (| head) is handled below
        return status
    except BrokenPipeError:  # `fgir check ... | head`: the reader left; not an error of ours
        _quiet_stdout()
        return EXIT_OK
    except (SpecIOError, ArgumentError) as exc:
        print(exc.render(), file=sys.stderr)
        return EXIT_USAGE
    except FgirError as exc:
        print(exc.render(), file=sys.stderr)
        count = len(exc.errors)
        where = f" (found by pass {exc.pass_name})" if exc.pass_name else ""
        print(f"fgir: {count} error{'s' if count != 1 else ''}{where}", file=sys.stderr)
        return EXIT_SPEC
    except UsageError as exc:
        print(f"fgir: error: {printable(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except MemoryError:   # beyond the static estimate (--max-memory): the machine's limit, with the figure
        return _out_of_memory()
    except ModuleNotFoundError as exc:   # a package this command needs (fgir's own modules: a bug, below)
        package = (exc.name or "").split(".")[0]
        if not package or package == "fgir":
            return _internal_error(exc)
        print(f"fgir: error: {missing_package_message(package)}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # writing an output: a missing folder, a full disk, no permission
        where = f"{exc.filename}: " if exc.filename else ""
        print(printable(f"fgir: error: {where}{exc.strerror or exc}"), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug in fgir, not in the spec: say so plainly
        if isinstance(exc, RuntimeError) and any(mark in str(exc) for mark in OUT_OF_MEMORY):
            return _out_of_memory()   # torch's allocator says it with a RuntimeError
        return _internal_error(exc)


OUT_OF_MEMORY = ("DefaultCPUAllocator: can't allocate memory", "CUDA out of memory", "not enough memory")


def _out_of_memory() -> int:
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"fgir: error: ran out of memory (this process had reached {human_bytes(peak)}; it may use "
          f"{human_bytes(machine_memory() or 0)})", file=sys.stderr)
    print("fgir: note: lower --max-memory to refuse such a network before allocating it, or use a "
          "machine with more memory", file=sys.stderr)
    return EXIT_USAGE


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush finds no closed pipe to complain of."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _internal_error(exc: BaseException) -> int:
    print(printable(f"fgir: internal compiler error: {exc}"), file=sys.stderr)
    if os.environ.get("FGIR_DEBUG"):
        traceback.print_exception(exc)
    else:
        print("fgir: this is a bug in fgir; rerun with FGIR_DEBUG=1 for the traceback and "
              "report it", file=sys.stderr)
    return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
