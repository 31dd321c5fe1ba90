"""Waste: collection calendar, recycling centre and bulky-waste information."""
