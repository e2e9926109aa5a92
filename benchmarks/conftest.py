pytest_plugins = ["ipcbench.plugin"]
