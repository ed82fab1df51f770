"""The web app: pages, the JSON API and the launcher's local endpoint (FastAPI)."""
