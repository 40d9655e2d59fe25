"""introbot: double opt-in email introductions from a Gmail inbox."""

__version__ = "0.1.0"
