"""The MQTT link: the broker connection in its own process, and the ingest that talks to it."""
