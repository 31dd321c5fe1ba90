"""Waste in the chat: collection days by address (collection), bulky-waste pick-ups
(bulky), the recycling centre (recycling), the sorting guide (sorting) and « oubliez mes
données » (privacy). One address reader (address) serves both forms.

The content lives in territory/demo/{waste,recycling_center,sorting_guide,
bulky_waste_booking}.yml, the logic in waste/ (plain Python), the remembered address in
booking/memory.py; the texts a citizen reads are responses of domain/waste.yml.

Not named `actions/waste`: rasa-sdk finds actions with pkgutil.walk_packages, which
imports a subpackage by its bare name — the top-level `waste` package — and then looks
for `actions.waste.calendar`, `actions.waste.config`… and the action server stops.
"""
