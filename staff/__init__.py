"""Agents of the collectivité: accounts, sign-in, sessions, roles per service (plain Python).

The agent console (handoff/console.py) and, later, the statistics dashboard use it.
"""
