"""Label Refinery (Bagherinezhad, Horton, Rastegari, Farhadi, 2018): train a
classifier on a frozen teacher's predictions for the same augmented crop.

Paper: "Label Refinery: Improving ImageNet Classification through Label
Progression". The teacher (the *refinery*, usually the same architecture
trained on the ground truth: generation 1) replaces the labels, as in the
paper. The paper writes the loss as ``KL(softmax(t) || softmax(z))``; we
compute the cross-entropy, which differs by the teacher's entropy, a constant
of the student: the gradients are identical, only the logged value differs
(the authors' ``RefineryLoss`` also computes the cross-entropy).

Differences from the authors' code (``hessamb/label-refinery``): their
refinery runs in training mode inside the wrapper (BatchNorm with batch
statistics, its running statistics drifting), ours in eval mode; ours accepts
batch augmentation (the teacher then sees the mixed images) and any
:class:`ClsHead` loss (the probabilities replace ``gt_score``, as Mixup's
mixed scores do). The teacher's checkpoint is read in ``init_weights`` (or at
the first loss), so building the model, e.g. to check a config, reads none.

Generations: ``tools/label_refinery.sh CONFIG_GEN1 CONFIG_GEN2 WORK_DIR``
trains generation 1, then generation 2 with generation 1's last checkpoint as
teacher; a ``LabelRefinery`` teacher config is built as a plain
``ImageClassifier``, so generation 3 can use generation 2 as teacher.
"""
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

    The teacher's probabilities for the student's preprocessed (and, with
    Mixup/CutMix, mixed) batch replace the labels as targets of the head's
    ``loss``: with ``CrossEntropyLoss``, :math:`-\frac{1}{N}\sum_n \sum_c
    \mathrm{softmax}_c(t_n) \log \mathrm{softmax}_c(z_n)` for teacher logits
    :math:`t` and student logits :math:`z`. The teacher is frozen (eval mode)
    and not in the ``state_dict``: checkpoints load into a plain
    :class:`ImageClassifier`, prediction uses the student alone, and resuming
    re-loads ``teacher.checkpoint``.

    Args:
        backbone (dict): The student's backbone.
        teacher (dict): ``dict(config=PATH, checkpoint=CKPT)``, ``PATH`` a
            config file (``package::path`` works; a ``LabelRefinery`` gives
            its student) whose ``model`` is the teacher, or a model dict with
            ``type`` and ``checkpoint=CKPT``. ``CKPT`` (file or URL) is loaded
            strictly. Same classes and normalisation as the student.
        neck (dict, optional): The student's neck. Defaults to None.
        head (dict, optional): A :class:`ClsHead` that keeps ``_get_loss``
            (e.g. ``LinearClsHead``), with ``cal_acc=False``. Defaults to None.
        pretrained (str, optional): Student weights. Defaults to None.
        train_cfg (dict, optional): ``augments``. Defaults to None.
        data_preprocessor (dict, optional): The student's. Defaults to None.
        init_cfg (dict, optional): The student's init. Defaults to None.
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
