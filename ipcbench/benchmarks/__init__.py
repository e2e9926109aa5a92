"""The benchmarks ``ipcbench run`` drives, shipped in the package so that any install can run them.

``pytest.ini`` here is their configuration and ``ipcbench.plugin`` their plugin, loaded with
``-p ipcbench.plugin``. The top-level ``benchmarks/`` folder of a clone re-exports these modules for
``pytest benchmarks/``.
"""
