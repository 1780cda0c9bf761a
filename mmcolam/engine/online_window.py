"""The online mode's running sums across a stage's last epochs: when they
are gathered for a checkpoint, what a checkpoint holds, and how a resumed
run continues them."""
from typing import Callable, Optional

from mmengine import dist

from mmcolam.soft_labels import PeerStatistics

CHECKPOINT_KEY = 'soft_label_peer_statistics'


def checkpoint_due(runner, checkpoint_hooks) -> bool:
    """Whether one of the iteration-based ``checkpoint_hooks`` may save after
    this iteration, by its own schedule (``interval`` from ``save_begin``,
    ``save_last``, and ``save_best`` after a validation)."""
    loop = runner.train_loop
    step = runner.iter + 1
    validates = runner.val_loop is not None and step >= loop.val_begin \
        and (step % loop.val_interval == 0 or step == loop.max_iters)
    return any(
        h.every_n_train_iters(runner, h.interval, h.save_begin)
        or (h.save_last and h.is_last_train_iter(runner))
        or (h.save_best is not None and validates)
        for h in checkpoint_hooks if not h.by_epoch)


class OnlineWindow:
    """The running sums of one rank, kept in ``head.peer_statistics`` while
    a window is open (COLAMHead adds every training batch to them).

    Args:
        head (COLAMHead): The head whose training logits are summed.
        new_statistics (Callable[[], PeerStatistics]): Makes empty sums.
    """

    def __init__(self, head, new_statistics: Callable[[], PeerStatistics]):
        self.head = head
        self.new_statistics = new_statistics
        self.restored = None  # (sums, iteration) from a checkpoint
        self.gathered = False

    def plan(self, interval: int, max_steps: int, steps: int) -> None:
        """Sum the last ``steps`` steps (epochs or iterations) of every stage
        of ``interval`` steps that an update ends (of ``max_steps``)."""
        self.interval, self.max_steps, self.steps = interval, max_steps, steps

    def contains(self, step: int) -> bool:
        """Whether ``step`` (1-based) is in a window."""
        end = -(-step // self.interval) * self.interval  # the stage's end
        return end < self.max_steps and end - step < self.steps

    def begin_step(self,
                   iteration: int,
                   in_window: bool,
                   samples: Optional[int] = None) -> None:
        """Before a training step (epoch or iteration) that starts after
        ``iteration`` iterations: open the window if the step is in it and
        it is not open, and count at most ``samples`` samples of an epoch
        (not the repeats a sampler pads an epoch with)."""
        self.gathered = False
        if in_window and self.head.peer_statistics is None:
            self._open(iteration)
        if samples is not None and self.head.peer_statistics is not None:
            self.head.peer_statistics.samples_left = samples

    def _open(self, iteration: int) -> None:
        stats = self.new_statistics()
        # Only a resumed run continues a window's sums: its iteration
        # counter is the one the checkpoint was saved at.
        if self.restored is not None and self.restored[1] == iteration:
            sums = self.restored[0]
            if sums.shape != stats.table.shape:
                raise ValueError(
                    'the checkpoint holds online peer statistics of shape '
                    f'{tuple(sums.shape)}, but the head has '
                    f'num_classes={self.head.num_classes}')
            if dist.get_rank() == 0:
                stats.table.copy_(sums)
        self.restored = None
        self.head.peer_statistics = stats

    def close(self) -> PeerStatistics:
        """Stop summing and return this rank's sums."""
        stats = self.head.peer_statistics or self.new_statistics()
        self.head.peer_statistics = None
        return stats

    def gather(self) -> None:
        """Before a checkpoint: sum every rank's partial sums on rank 0,
        which alone saves, so a resumed run continues the same sums."""
        stats = self.head.peer_statistics
        if stats is None:
            return
        stats.all_reduce()
        if dist.get_rank() != 0:
            stats.reset()
        self.gathered = True

    def save(self, checkpoint: dict) -> None:
        """Put the sums into ``checkpoint``: one process holds all of them;
        several only after :meth:`gather`."""
        stats = self.head.peer_statistics
        if stats is not None and (dist.get_world_size() == 1
                                  or self.gathered):
            checkpoint[CHECKPOINT_KEY] = stats.table.cpu().clone()

    def load(self, checkpoint: dict) -> None:
        """Keep the sums a checkpoint holds: :meth:`begin_step` continues
        them in a resumed run."""
        if CHECKPOINT_KEY in checkpoint:
            self.restored = (checkpoint[CHECKPOINT_KEY],
                             checkpoint['meta']['iter'])

