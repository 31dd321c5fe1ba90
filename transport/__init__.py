"""School transport: the GTFS feed of the school services (lines, stops, timetables), the
school holidays of the territory's zone and the registration content (plain Python, no Rasa)."""
