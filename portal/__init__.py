"""The citizens' appointment pages (CNI / passeport): the pages ANTS links to and a booking form.

See portal/app.py for what is served and why it is a small aiohttp application of its own.
"""
