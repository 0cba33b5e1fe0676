"""Idle-socket flood: N idle loopback sockets against the HTTP server while a normal client calls a tool.

Prints one JSON line of figures: sockets opened, how many the server closed, the normal client's
calls and latencies, the server log's size. `--executable` points at another installation's
`altegio-mcp` script (e.g. an older checkout, for a before/after comparison).

    .venv/bin/python benchmarks/idle_sockets.py --sockets 20000 --hold 30
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.flood import run_flood


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sockets", type=int, default=20_000)
    parser.add_argument("--attackers", type=int, default=2)
    parser.add_argument("--open-budget", type=float, default=20.0)
    parser.add_argument("--hold", type=float, default=30.0)
    parser.add_argument("--executable", help="an `altegio-mcp` script to run instead of this checkout")
    parser.add_argument("--verbose", action="store_true", help="per-call timings, guard reports, log tail")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = anyio.run(
            lambda: run_flood(
                Path(tmp),
                sockets=args.sockets,
                attackers=args.attackers,
                open_budget=args.open_budget,
                hold=args.hold,
                executable=args.executable,
            )
        )
    print(json.dumps(result.summary()))
    if result.call_errors:
        print("first call errors:", result.call_errors[:3])
    if args.verbose:
        print("calls (t s, ms, outcome):", [(round(t, 1), round(ms), o) for t, ms, o in result.call_log])
        print("\n".join(result.guard_lines))
        print("log tail:", result.log_tail[-800:])


if __name__ == "__main__":
    main()
