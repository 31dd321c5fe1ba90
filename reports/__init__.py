"""Reporting a problem in the street (signalement): categories, dangers, storage, forwarding."""
