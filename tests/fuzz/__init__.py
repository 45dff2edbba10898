"""Fuzzing the receive path: the decoder (carp.wire) and CarpHost.packet (see harness.py)."""
