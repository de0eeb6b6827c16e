"""Collaboration-network pipeline: landed exports -> bronze -> silver -> weekly graph -> gold."""
