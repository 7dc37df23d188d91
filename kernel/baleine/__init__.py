"""Baleine: a daemonless, rootless Docker-compatible container engine."""

__version__ = "0.1.0"
# The Docker Engine API version whose behaviour we follow (shown by `version`).
API_VERSION = "1.47"
