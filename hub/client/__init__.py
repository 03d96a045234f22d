"""Python access to a running hub over HTTP."""

from hub.client.http import HubClient, Predictions

__all__ = ["HubClient", "Predictions"]
