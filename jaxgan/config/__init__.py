"""Run configs: the schema that declares every field once (default, check, help, what a resume may
change) and the validation of a config before any work starts.

It may import `jaxgan.core`, `jaxgan.data` and `jaxgan.models` (for their choices, such as the loss
and model names) and the base modules.
"""
