"""Label Refinery (Bagherinezhad, Horton, Rastegari, Farhadi, 2018): train a
classifier on a frozen teacher's predictions for the same augmented crop."""
import os.path as osp
from typing import List

import torch
from mmengine.config import Config
from mmengine.hub import get_config
from mmengine.logging import MMLogger
from mmengine.runner.checkpoint import load_checkpoint
from mmpretrain.models.classifiers import ImageClassifier
from mmpretrain.models.heads import ClsHead
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

LABEL_REFINERY_TYPES = ('LabelRefinery', 'mmpretrain.LabelRefinery')


class _FrozenTeacher:
    """Holds the teacher outside the student's module tree, so that it is in
    no ``parameters()``, ``state_dict()``, ``train()``, ``init_weights()`` or
    DDP of the student. ``copy.deepcopy`` (EMA) shares it: it never
    changes."""

    def __init__(self, module):
        self.module = module

    def __deepcopy__(self, memo):
        return self


@MODELS.register_module()
class LabelRefinery(ImageClassifier):
    r"""An :class:`ImageClassifier` trained on a frozen teacher's softmax.

    From "Label Refinery: Improving ImageNet Classification through Label
    Progression" (Bagherinezhad, Horton, Rastegari, Farhadi, 2018). At every
    training iteration the teacher (the *refinery*, usually the same
    architecture trained on the ground truth: generation 1) sees the same
    augmented batch as the student, and the student is trained on the
    teacher's probabilities instead of the labels:

    .. math::

        \mathcal{L} = -\frac{1}{N} \sum_n \sum_c
            \mathrm{softmax}_c(t_n) \log \mathrm{softmax}_c(z_n),

    with :math:`t_n` the teacher's and :math:`z_n` the student's logits. The
    paper writes the loss as :math:`\mathrm{KL}(\mathrm{softmax}(t) \|
    \mathrm{softmax}(z))`, which is this cross-entropy minus the teacher's
    entropy: a constant of the student, so the gradients are identical and
    only the logged value differs (the authors' ``RefineryLoss`` also
    computes the cross-entropy). The ground-truth label is not used (as in
    the paper). Technically the teacher's probabilities replace the samples'
    ``gt_score`` and the head's own ``loss`` is applied to them, exactly as
    for Mixup's mixed scores; with ``CrossEntropyLoss`` (``use_soft`` or
    not) that is the formula above. If batch augmentation (Mixup, CutMix) is
    configured, the teacher sees the mixed images. Prediction, validation
    and test use the student alone.

    The teacher is built from a model config and loaded from a checkpoint
    (strictly: every key must match). It is kept frozen: always in eval mode
    (BatchNorm uses its running statistics, dropout is off), no gradients,
    not in the optimizer, not in the student's ``state_dict`` — so
    checkpoints hold the student alone, load into a plain
    :class:`ImageClassifier`, and resuming re-loads the teacher from
    ``teacher.checkpoint``. The teacher moves to the device of the inputs at
    the first iteration. Its checkpoint is loaded in :meth:`init_weights`,
    which the Runner calls before training (or at the first loss if it was
    not called), so that building the model, e.g. to check a config, reads
    no checkpoint. The teacher receives the student's preprocessed batch, so
    both must normalise inputs alike (checked when both data preprocessors
    give a ``mean``/``std``).

    Differences from the authors' code (``hessamb/label-refinery``): their
    refinery runs in training mode inside the wrapper (BatchNorm with batch
    statistics, its running statistics drifting), ours in eval mode; ours
    accepts batch augmentation and any :class:`ClsHead` loss.

    Generations: ``tools/label_refinery.sh CONFIG_GEN1 CONFIG_GEN2 WORK_DIR``
    trains generation 1 and then generation 2 with generation 1's last
    checkpoint as teacher. A teacher config that is itself a
    ``LabelRefinery`` is built as a plain ``ImageClassifier`` (its own
    teacher dropped), so generation 3 can use generation 2 as teacher.

    Args:
        backbone (dict): The student's backbone.
        teacher (dict): ``dict(config=PATH, checkpoint=CKPT)``, where
            ``PATH`` is a config file (``package::path`` such as
            ``'mmpretrain::resnet/resnet50_8xb32_in1k.py'`` works) whose
            ``model`` is the teacher; or a model dict with ``type`` plus a
            ``checkpoint=CKPT`` key. ``CKPT`` is a local file or a URL of the
            trained teacher. No default.
        neck (dict, optional): The student's neck. Defaults to None.
        head (dict, optional): The student's head: a :class:`ClsHead` that
            does not redefine ``_get_loss`` (e.g. ``LinearClsHead``), with
            ``cal_acc=False``. Its ``loss`` receives ``(N, C)``
            probabilities. Defaults to None.
        pretrained (str, optional): Pretrained student weights.
            Defaults to None.
        train_cfg (dict, optional): As for :class:`ImageClassifier`
            (``augments``). Defaults to None.
        data_preprocessor (dict, optional): As for :class:`ImageClassifier`.
            Defaults to None.
        init_cfg (dict, optional): The student's initialization config.
            Defaults to None.
    """

    def __init__(self,
                 backbone: dict,
                 teacher: dict,
                 neck: dict = None,
                 head: dict = None,
                 pretrained: str = None,
                 train_cfg: dict = None,
                 data_preprocessor: dict = None,
                 init_cfg: dict = None):
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            pretrained=pretrained,
            train_cfg=train_cfg,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self._check_head()
        model_cfg, self.teacher_checkpoint = teacher_model_config(teacher)
        model = MODELS.build(model_cfg)
        if not isinstance(model, ImageClassifier):
            raise ValueError(
                f'teacher: the model is a {type(model).__name__}; '
                'LabelRefinery needs an ImageClassifier (or subclass) teacher')
        model.eval()
        model.requires_grad_(False)
        self._teacher = _FrozenTeacher(model)
        self._teacher_loaded = False
        self._check_teacher_matches()

    @property
    def teacher(self) -> ImageClassifier:
        """The frozen teacher (not a submodule of the student)."""
        return self._teacher.module

    # ----------------------------------------------------------- checks
    def _check_head(self):
        head = self.head
        if not isinstance(head, ClsHead) or \
                type(head)._get_loss is not ClsHead._get_loss:
            raise ValueError(
                f'LabelRefinery: head type {type(head).__name__} is not '
                'allowed: the teacher\'s probabilities reach the loss as '
                'gt_score, so the head must be a ClsHead that keeps '
                'ClsHead._get_loss, e.g. LinearClsHead')
        if head.cal_acc:
            raise ValueError(
                'LabelRefinery: head.cal_acc=True is not allowed: training '
                'targets are the teacher\'s probabilities, not labels; set '
                'cal_acc=False')

    def _check_teacher_matches(self):
        ours = getattr(self.head, 'num_classes', None)
        theirs = getattr(getattr(self.teacher, 'head', None), 'num_classes',
                         None)
        if ours is not None and theirs is not None and ours != theirs:
            raise ValueError(
                f'LabelRefinery: the teacher has {theirs} classes but '
                f'head.num_classes={ours}: they must be the same')
        student_pre = self.data_preprocessor
        teacher_pre = self.teacher.data_preprocessor
        for name in ('mean', 'std'):
            a = getattr(student_pre, name, None)
            b = getattr(teacher_pre, name, None)
            if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) \
                    and (a.shape != b.shape or not torch.allclose(a, b)):
                raise ValueError(
                    f'LabelRefinery: data_preprocessor.{name}='
                    f'{a.flatten().tolist()} differs from the teacher\'s '
                    f'{b.flatten().tolist()}; the teacher sees the '
                    "student's preprocessed batch, so they must be equal")
        a = getattr(student_pre, '_channel_conversion', None)
        b = getattr(teacher_pre, '_channel_conversion', None)
        if a is not None and b is not None and a != b:
            raise ValueError(
                'LabelRefinery: data_preprocessor.to_rgb differs from the '
                "teacher's; they must be equal")

    # ---------------------------------------------------------- teacher
    def init_weights(self):
        """Initialize the student, then load the teacher's checkpoint."""
        super().init_weights()
        self.load_teacher()

    def load_teacher(self):
        """Load ``teacher.checkpoint`` into the teacher (once)."""
        if self._teacher_loaded:
            return
        checkpoint = self.teacher_checkpoint
        if '://' not in checkpoint and not osp.isfile(
                osp.expanduser(checkpoint)):
            raise FileNotFoundError(
                f'LabelRefinery: model.teacher.checkpoint={checkpoint!r} does '
                'not exist. Train the teacher (generation 1) first and pass '
                'its checkpoint with --cfg-options model.teacher.checkpoint='
                'PATH, or run tools/label_refinery.sh CONFIG_GEN1 CONFIG_GEN2 '
                'WORK_DIR, which does both')
        load_checkpoint(
            self.teacher,
            checkpoint,
            map_location='cpu',
            strict=True,
            logger='current',
            revise_keys=[(r'^module\.', '')])
        self.teacher.eval()
        self._teacher_loaded = True
        MMLogger.get_current_instance().info(
            f'LabelRefinery: teacher loaded from {checkpoint}')

    @torch.no_grad()
    def teacher_probs(self, inputs: torch.Tensor) -> torch.Tensor:
        """The teacher's softmax for a preprocessed batch, ``(N, C)``."""
        self.load_teacher()
        teacher = self.teacher
        if teacher.training:
            teacher.eval()
        param = next(teacher.parameters(), None)
        if param is not None and param.device != inputs.device:
            teacher.to(inputs.device)
        logits = teacher(inputs, mode='tensor')
        if not isinstance(logits, torch.Tensor) or logits.ndim != 2:
            raise TypeError(
                'LabelRefinery: the teacher must return (N, C) logits in '
                f"mode='tensor', got {type(logits).__name__}")
        return logits.float().softmax(dim=1)

    # ------------------------------------------------------------- loss
    def loss(self, inputs: torch.Tensor,
             data_samples: List[DataSample]) -> dict:
        """The head's loss against the teacher's probabilities."""
        probs = self.teacher_probs(inputs)
        refined = []
        for sample, prob in zip(data_samples, probs):
            target = DataSample(metainfo=sample.metainfo)
            if 'gt_label' in sample:
                target.set_gt_label(sample.gt_label)
            refined.append(target.set_gt_score(prob))
        feats = self.extract_feat(inputs)
        return self.head.loss(feats, refined)


def load_model_config(path: str) -> dict:
    """The ``model`` of a config file (``package::path`` allowed), with the
    config's top-level ``data_preprocessor``."""
    if '::' in path:
        cfg = get_config(path)
    elif osp.isfile(path):
        cfg = Config.fromfile(path)
    else:
        raise FileNotFoundError(
            f'LabelRefinery: model.teacher.config={path!r} does not exist')
    if 'model' not in cfg:
        raise ValueError(f'LabelRefinery: model.teacher.config={path!r} has '
                         'no model')
    model = cfg.model.to_dict()
    # As the Runner does: a top-level data_preprocessor is the model's.
    if cfg.get('data_preprocessor') is not None:
        model.setdefault('data_preprocessor', cfg.data_preprocessor.to_dict())
    return model


def teacher_model_config(teacher) -> tuple:
    """Split ``teacher`` into the teacher's model config and checkpoint.

    Returns:
        tuple[dict, str]: A model config (a ``LabelRefinery`` becomes a
        plain ``ImageClassifier``) and the checkpoint path or URL.
    """
    if not isinstance(teacher, dict):
        raise ValueError(
            f'LabelRefinery: teacher={teacher!r} must be a dict: '
            'dict(config=PATH, checkpoint=CKPT) or a model dict with type '
            'and checkpoint=CKPT')
    spec = dict(teacher)
    checkpoint = spec.pop('checkpoint', None)
    config = spec.pop('config', None)
    if config is not None:
        if spec:
            raise ValueError(
                f'LabelRefinery: teacher has config={config!r} and also '
                f'{sorted(spec)}; with config the only other key allowed is '
                'checkpoint')
        if not isinstance(config, str):
            raise ValueError(f'LabelRefinery: teacher.config={config!r} must '
                             'be a path')
        model_cfg = load_model_config(config)
    elif 'type' in spec:
        model_cfg = spec
    else:
        raise ValueError(
            f'LabelRefinery: teacher={teacher!r} has neither config nor '
            'type: use dict(config=PATH, checkpoint=CKPT) or a model dict '
            'with type and checkpoint=CKPT')
    if not isinstance(checkpoint, str) or not checkpoint:
        raise ValueError(
            f'LabelRefinery: teacher.checkpoint={checkpoint!r} must be the '
            "path or URL of the trained teacher's checkpoint")
    model_cfg = dict(model_cfg)
    if model_cfg.get('type') in LABEL_REFINERY_TYPES:
        model_cfg.pop('teacher', None)
        model_cfg['type'] = 'ImageClassifier'
    return model_cfg, checkpoint
