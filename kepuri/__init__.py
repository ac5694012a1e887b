"""kepuri: wiring (settings, ASGI app, database and Redis setup, the command line)."""
