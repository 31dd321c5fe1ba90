"""Kept for the modules that import the territory and the log pseudonyms from here
(actions/forms.py and others). The core conversation's actions are in actions/conversation.py."""

from actions.context import TERRITORY, pseudonym

__all__ = ["TERRITORY", "pseudonym"]
