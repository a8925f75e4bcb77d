"""The running service: the web app over the built site (web.py) and its parts."""
