"""A network-namespace lab for the demo, the integration tests and the benchmarks."""

from carp.lab.capture import Capture
from carp.lab.hosts import Client, Host
from carp.lab.lab import Lab
from carp.lab.netns import CHECKOUT, CommandError, lab_mac, lan_ip

__all__ = ["CHECKOUT", "Capture", "Client", "CommandError", "Host", "Lab", "lab_mac", "lan_ip"]
