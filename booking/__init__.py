"""Booking engine: sites, schedules, availability, appointments (plain Python + SQLAlchemy)."""
