"""Statistics of the assistant for the collectivité (plain Python, no Rasa): tables filled from
the conversation store (ingest.py), the dashboard's figures (figures.py), the unanswered
questions grouped for the content team (unanswered.py). See README, « Statistiques »."""
