"""HTTP ingestion compatible with Segment's tracking API (see `engine.server.app`)."""

from engine.server.app import create_app

__all__ = ["create_app"]
