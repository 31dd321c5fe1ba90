"""Custom actions of the citizen assistant (rasa-sdk) and the plain-Python logic they use."""
