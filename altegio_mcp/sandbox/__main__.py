"""`python -m altegio_mcp.sandbox [--host H] [--port P] [--today YYYY-MM-DD]` serves the sandbox."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import date

from altegio_mcp.sandbox.config import SandboxConfig
from altegio_mcp.sandbox.server import serve


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m altegio_mcp.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--today", type=date.fromisoformat, default=None, help="anchor date of the demo data")
    parser.add_argument("--rate-limit-per-second", type=float, default=None)
    parser.add_argument("--rate-limit-per-minute", type=int, default=None)
    args = parser.parse_args(argv)
    config = SandboxConfig(
        today=args.today,
        rate_limit_per_second=args.rate_limit_per_second,
        rate_limit_per_minute=args.rate_limit_per_minute,
    )
    serve(host=args.host, port=args.port, config=config)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
