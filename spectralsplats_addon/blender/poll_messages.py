"""Poll refusals that say why: every operator poll that returns False sets its message here."""

from __future__ import annotations


def object_mode_message(mode: str) -> str:
    """Why an operator refuses in ``mode`` (context.mode), and how to get to Object Mode."""
    name = mode.replace("_", " ").title()
    return f"Works in Object Mode only, and this is {name}: switch to Object Mode (Tab)"


def require_object_mode(cls, context) -> bool:
    """True in Object Mode; elsewhere sets the poll message and returns False."""
    if context.mode != "OBJECT":
        cls.poll_message_set(object_mode_message(context.mode))
        return False
    return True
