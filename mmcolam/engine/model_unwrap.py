"""The classifier inside the runner's model, for the hooks that reach its
head."""
from mmengine.model import BaseTTAModel, is_model_wrapper


def classifier(runner):
    """The runner's model without its wrappers (DDP, and the TTA model that
    testing with ``--tta`` puts around the classifier)."""
    model = runner.model
    model = model.module if is_model_wrapper(model) else model
    return model.module if isinstance(model, BaseTTAModel) else model
