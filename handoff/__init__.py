"""Live hand-off of a conversation to an agent: the queue per service, the agent console and
its client of Rasa's HTTP API, callback requests (plain Python, no Rasa imports)."""
