"""Input channels of the assistant (Rasa server side)."""
