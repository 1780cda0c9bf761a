from . import checkpoint_loading, hooks  # noqa: F401
