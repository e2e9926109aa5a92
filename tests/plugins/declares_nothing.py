"""A test plugin that imports cleanly but registers nothing (a typo'd path, a forgotten register())."""
