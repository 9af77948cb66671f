"""The commands of the `jaxgan` console script (`jaxgan/cli/main.py`), one module each, and what
they share (`entry`: flags, one-line errors and exit codes). The top layer: nothing imports it."""
