"""rnnlab's bundled plugins. Each is registered in pyproject.toml entry points like any third
party plugin and imports only rnnlab's public API."""
