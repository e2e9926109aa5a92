"""ipcbench: how fast Python processes talk through multiprocessing primitives.

Importing the package is cheap: pandas and matplotlib load only in the report and compare paths.
The extension API (declare your own channel or operation) is :mod:`ipcbench.api`, re-exported here.
"""

from ipcbench.api import Mechanism, Operation, Resources, register

__all__ = ["Mechanism", "Operation", "Resources", "register"]

__version__ = "0.1.0"
