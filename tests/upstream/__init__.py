"""Upstream servers for the integration tests (an echo server)."""
