"""Transports: how a gateway call reaches a worker (see ``base``)."""
