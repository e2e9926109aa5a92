"""ipcbench: how fast Python processes talk through multiprocessing primitives.

Importing the package is cheap: pandas and matplotlib load only in the report and compare paths.
"""

__version__ = "0.1.0"
