"""PSKDHook: drives a PSKDHead (PS-KD, Kim et al., ICCV 2021)."""
from mmengine.dataset import ConcatDataset
from mmengine.hooks import Hook
from mmengine.runner import EpochBasedTrainLoop
from mmpretrain.registry import HOOKS

from mmcolam.engine.hooks.soft_label_hook import classifier
from mmcolam.models.heads.pskd_head import PSKDHead

CHECKPOINT_KEY = 'pskd_predictions'


@HOOKS.register_module()
class PSKDHook(Hook):
    """Allocate, schedule and checkpoint the prediction table of the model's
    :class:`PSKDHead`.

    - Before training: a fresh table of ``len(train dataset)`` rows, or, when
      resuming, the table saved in the checkpoint.
    - Before every epoch: tells the head the epoch and the number of epochs,
      from which it computes :math:`\\alpha_t = \\alpha_T t / T`.
    - Checkpoints: the table is stored under the top-level key
      ``'pskd_predictions'`` (rank 0's, which equals every rank's). It is
      restored only when resuming (a run that starts at epoch 0, e.g. with
      ``load_from``, starts from an empty table). Resuming is exact from
      checkpoints taken at epoch ends (the default); from one taken
      mid-epoch, the epoch is rerun in full and the samples already seen in
      it read that epoch's prediction instead of the previous one. On
      resume, MMEngine loads the checkpoint onto the training device, so the
      table passes through GPU memory once before it returns to the CPU.

    Epoch-based training only: PS-KD's schedule is per epoch.

    The hook has no arguments; :math:`\\alpha_T` and the table's type are
    the head's.
    """

    priority = 'NORMAL'

    def __init__(self):
        self._restored = None

    def before_run(self, runner) -> None:
        head = getattr(classifier(runner), 'head', None)
        if not isinstance(head, PSKDHead):
            raise TypeError(
                'PSKDHook drives a PSKDHead, but the model head is '
                f"{type(head).__name__}: set model.head.type='PSKDHead' or "
                'remove the PSKDHook')
        self.head = head

    def before_train(self, runner) -> None:
        if not isinstance(runner.train_loop, EpochBasedTrainLoop):
            raise TypeError(
                'PSKDHook needs an epoch-based loop (PS-KD reads the '
                'previous epoch and grows alpha per epoch): set '
                'train_cfg=dict(by_epoch=True, max_epochs=...)')
        dataset = runner.train_dataloader.dataset
        if isinstance(dataset, ConcatDataset):
            raise TypeError(
                'PSKDHook: the training set is a ConcatDataset, whose '
                'sample_idx restarts at 0 in every part, so it cannot index '
                'the prediction table; merge the parts into one dataset')
        classes = getattr(dataset, 'metainfo', {}).get('classes')
        if classes is not None and len(classes) != self.head.num_classes:
            raise ValueError(
                f'model.head.num_classes={self.head.num_classes} disagrees '
                f'with the training dataset, which has {len(classes)} '
                'classes')
        num_samples = len(dataset)
        restored, self._restored = self._restored, None
        if restored is not None and runner.epoch > 0:
            if restored.size(0) != num_samples:
                raise ValueError(
                    'PSKDHook: the checkpoint holds predictions of '
                    f'{restored.size(0)} samples, but the training set has '
                    f'{num_samples}')
            self.head.load_predictions(restored)
        else:
            self.head.reset_predictions(num_samples)

    def before_train_epoch(self, runner) -> None:
        self.head.set_epoch(runner.epoch, runner.max_epochs)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        head = getattr(self, 'head', None)
        if head is not None and head.predictions is not None:
            checkpoint[CHECKPOINT_KEY] = head.predictions

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        table = checkpoint.get(CHECKPOINT_KEY)
        self._restored = None if table is None else table.cpu()
