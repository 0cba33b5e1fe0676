"""Serving the sandbox over HTTP with uvicorn (logs go to stderr; stdout stays free)."""

from __future__ import annotations

import logging
import logging.config

import uvicorn

from altegio_mcp.sandbox.app import create_sandbox
from altegio_mcp.sandbox.config import SandboxConfig
from altegio_mcp.sandbox.constants import BASE_PATH

logger = logging.getLogger("altegio_mcp.sandbox")

LOG_CONFIG: dict[str, object] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        "stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "plain"}
    },
    "loggers": {
        "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "uvicorn.access": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "altegio_mcp": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
    },
}


def serve(host: str = "127.0.0.1", port: int = 8765, config: SandboxConfig | None = None) -> None:
    """Run the sandbox until interrupted; its API is at `http://{host}:{port}/api/v1`."""
    logging.config.dictConfig(LOG_CONFIG)
    sandbox = create_sandbox(config)
    logger.info("Altegio sandbox for %s at http://%s:%d%s", sandbox.today.isoformat(), host, port, BASE_PATH)
    uvicorn.run(sandbox.app, host=host, port=port, log_config=LOG_CONFIG, lifespan="off", ws="none")
