"""Welfare guidance: triage towards the right aid (APA, AAH, PCH, PMI, RSA, CCAS) and office."""
