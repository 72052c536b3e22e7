"""Gunicorn's logger with the emailed links' tokens masked (see gunicorn.conf.py).

Gunicorn writes the request line, path and query of every request to its access log,
and the URI of a failed request to its error log, outside Django's logging: the same
mask as Django's loggers (`reactivation.log_filters`) is applied to both here.
"""

from __future__ import annotations

from typing import Any

from gunicorn import glogging

from reactivation.log_filters import MaskReactivationTokens, mask_tokens


class MaskingLogger(glogging.Logger):  # type: ignore[misc]
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        self.error_log.addFilter(MaskReactivationTokens())

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        return {k: mask_tokens(v) if isinstance(v, str) else v for k, v in atoms.items()}
