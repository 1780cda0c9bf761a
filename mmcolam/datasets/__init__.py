from . import samplers  # noqa: F401
