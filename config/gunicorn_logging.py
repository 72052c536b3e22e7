"""Gunicorn's logger with the secrets of emailed links masked (see gunicorn.conf.py).

Gunicorn writes the request line, path and query of every request to its access log,
and the URI of a failed request to its error log, outside Django's logging: the same
list and filter as Django's loggers (`config.log_masking`) are applied to both here.
"""

from __future__ import annotations

from typing import Any

from gunicorn import glogging

from config.log_masking import MASK_FILTER, mask_secrets


class MaskingLogger(glogging.Logger):  # type: ignore[misc]
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        self.error_log.addFilter(MASK_FILTER)
        self.access_log.addFilter(MASK_FILTER)

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        return {k: mask_secrets(v) if isinstance(v, str) else v for k, v in atoms.items()}
