"""A local emulator of Microsoft Graph, Google Workspace and Slack for the pull tests.

One fictional organisation (``org.py``) is served in each vendor's response shapes
(``msgraph.py``, ``google.py``, ``slack.py``) by a threaded HTTP server on 127.0.0.1
(``server.py``) with small pages and injectable faults (429 + Retry-After, 503, expired
tokens). Every request is logged so that tests can count what a pull fetched.
"""
