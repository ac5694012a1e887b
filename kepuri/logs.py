"""Structured logs: JSON lines in production, readable lines in development; the standard
library's loggers (uvicorn, arq, tortoise) go through the same renderer."""

from __future__ import annotations

import logging
import sys

import structlog

from infra.settings import Settings


def configure_logging(settings: Settings) -> None:
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if settings.log_format == "json" or settings.production
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        # an event below the level is dropped first, before it is stamped and decorated (every
        # request logs its access line at INFO)
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "arq.worker", "tortoise"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    # Access lines come from our own middleware, with timing and without query strings.
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("tortoise").setLevel(max(logging.WARNING, root.level))
    # seven INFO lines per rendered document ("Step 5 - Creating layout - Page 2")
    logging.getLogger("weasyprint.progress").setLevel(max(logging.WARNING, root.level))
