"""The HTTP API (FastAPI): thin routes over :mod:`trialkit.service`."""

from trialkit.api.app import create_app

__all__ = ["create_app"]
