"""A local Gmail API server for the demo, the tests and the benchmark."""

from introbot.sandbox.realism import REALISTIC, Realism
from introbot.sandbox.server import DEFAULT_USER, Sandbox, SandboxServer

__all__ = ["DEFAULT_USER", "REALISTIC", "Realism", "Sandbox", "SandboxServer"]
