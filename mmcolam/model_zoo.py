"""mmcolam's model zoo in MMPretrain's model hub: after ``import mmcolam``,
``mmpretrain.list_models('*colam*')`` lists its configs and
``mmpretrain.get_model(NAME, pretrained=True)`` loads the published weights
by name, as for MMPretrain's own models (with the config published beside
them: the training config's model, its head a plain ``LinearClsHead``).

The model index (``model-index.yml`` → ``configs/colam/metafile.yml``) and
the weights (``weights/``) are read from the installed package's ``.mim``
folder, or from the source tree when mmcolam runs from a checkout.
"""
import os.path as osp

from mmpretrain.apis import ModelHub

PACKAGE = osp.dirname(osp.abspath(__file__))


def model_zoo_root():
    """The folder that holds ``model-index.yml``, ``configs/`` and
    ``weights/``: the package's ``.mim`` or the source tree."""
    for root in (osp.join(PACKAGE, '.mim'), osp.dirname(PACKAGE)):
        if osp.isfile(osp.join(root, 'model-index.yml')):
            return root
    raise FileNotFoundError(
        f'mmcolam: no model-index.yml in {PACKAGE}/.mim or beside the '
        'package: reinstall mmcolam (pip install .)')


def register_model_zoo(root=None):
    """Register every model of the index under ``root`` (default:
    :func:`model_zoo_root`) with MMPretrain's ``ModelHub`` (once, as
    ``import mmcolam`` does), its weights as absolute paths."""
    root = root or model_zoo_root()
    before = set(ModelHub._models_dict)
    ModelHub.register_model_index(
        osp.join(root, 'model-index.yml'), config_prefix=root)
    for name in set(ModelHub._models_dict) - before:
        metainfo = ModelHub._models_dict[name]
        if metainfo.weights and not osp.isabs(metainfo.weights):
            metainfo.weights = osp.join(root, metainfo.weights)
            # The published model: its weights' own config, whose head is
            # the plain LinearClsHead they were published with
            # (tools/model_converters/publish_model.py).
            metainfo.config = metainfo.weights[:-len('.pth')] + '.py'
