"""The Rasa-free core: configuration, content files, database, dates, texts, outbound HTTP.

Nothing here imports Rasa, rasa-sdk or any package of the project above it
(booking, waste, welfare, tracking, actions, channels, ops): the import contract in
`make lint` (import-linter, `.importlinter`) keeps it that way, so the domain logic
can move to another framework or Python version on its own.
"""
