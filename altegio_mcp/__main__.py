"""`python -m altegio_mcp` runs the command-line interface."""

from altegio_mcp.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
