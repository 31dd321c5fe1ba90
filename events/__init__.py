"""Events of the territory (« agenda »): a connector with a local content-file adapter and an
OpenAgenda adapter, and the reading of citizens' questions (« ce week-end », « gratuit »…)."""
