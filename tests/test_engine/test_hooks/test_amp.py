"""Mixed precision: the soft-label statistics accumulate in float32 whatever
the compute type. CPU training under bfloat16 autocast, through MMEngine's
AmpOptimWrapper (what ``tools/train.py --amp`` selects)."""
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.optim.optimizer import amp_optimizer_wrapper
from mmengine.runner import Runner

from mmcolam.engine.hooks import SoftLabelHook
from mmcolam.soft_labels import PeerStatistics, draw_peers
from tests.helpers.fake_data import write_fashion_mnist
from tests.helpers.runner_config import TEMPERATURE, colam_config, softmax_rows


@pytest.mark.parametrize('statistic', ['logits', 'probs'])
def test_statistics_sum_in_float32_under_autocast(statistic):
    generator = torch.Generator().manual_seed(0)
    logits = (torch.randn(64, 10, generator=generator) * 3 + 10).bfloat16()
    labels = torch.randint(0, 10, (64, ), generator=generator)
    stats = PeerStatistics(10, statistic)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        stats.update(logits, labels)
    assert stats.table.dtype == torch.float32
    values = logits.double()
    if statistic == 'probs':
        values = values.softmax(dim=1)
    expected = torch.stack(
        [values[labels == c].sum(0) for c in range(10)]).float()
    torch.testing.assert_close(stats.sums, expected, rtol=1e-6, atol=1e-5)
    torch.testing.assert_close(
        stats.counts, torch.bincount(labels, minlength=10).float())
    if statistic == 'logits':
        # The same class sums as a matrix product under autocast are
        # rounded to bfloat16: what update() must not do.
        with torch.autocast('cpu', dtype=torch.bfloat16):
            rounded = torch.nn.functional.one_hot(labels, 10).float().T \
                @ logits.float()
        assert rounded.dtype == torch.bfloat16
        assert (rounded.float() - expected).abs().max() > 0.05


def test_many_small_batches_accumulate_in_float32():
    # A bfloat16 accumulator stops at 256 when adding ones (8-bit mantissa).
    stats = PeerStatistics(2)
    one = torch.ones(1, 2, dtype=torch.bfloat16)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        for _ in range(1000):
            stats.update(one, torch.tensor([0]))
    torch.testing.assert_close(stats.table[0],
                               torch.tensor([1000., 1000., 1000., 0.]))


class CheckAmpUpdates(Hook):
    """Record the head's outputs and, after each update, compare S with a
    float64 recomputation from the very logits the peers produced."""

    priority = 'LOW'  # after SoftLabelHook

    def __init__(self):
        self.checked = 0

    def before_train(self, runner):
        self.colam = next(h for h in runner.hooks
                          if isinstance(h, SoftLabelHook))
        runner.model.head.register_forward_hook(self._record)
        self.outputs = []

    def _record(self, module, args, output):
        self.outputs.append((module.training, output.detach().clone()))

    def before_train_epoch(self, runner):
        self.outputs, self.labels = [], []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.labels.append(
            torch.cat([s.gt_label for s in data_batch['data_samples']]))

    def after_train_epoch(self, runner):
        epoch = runner.epoch + 1
        if epoch >= runner.max_epochs:
            return
        head = runner.model.head
        assert head.soft_labels.dtype == torch.float32
        online = self.colam.peer_mode == 'online'
        outputs = [o for training, o in self.outputs if training == online]
        # The forward passes ran in bfloat16 ...
        assert {o.dtype for o in outputs} == {torch.bfloat16}
        logits = torch.cat(outputs).double().numpy()
        if online:
            labels = torch.cat(self.labels).numpy()
        else:
            dataset_labels = np.array(
                runner.train_dataloader.dataset.get_gt_labels())
            peers = draw_peers(dataset_labels, 10, self.colam.num_peers,
                               [runner.seed, epoch])
            labels = dataset_labels[peers]  # the peer pass keeps this order
        means = np.stack([logits[labels == c].mean(0) for c in range(10)])
        # ... and S is the float32 result of float32 sums of those logits.
        np.testing.assert_allclose(
            head.soft_labels.numpy(), softmax_rows(means / TEMPERATURE),
            rtol=1e-5, atol=1e-7)
        self.checked += 1


@pytest.mark.parametrize('peer_mode', ['resample', 'online'])
def test_bfloat16_training_keeps_float32_soft_labels(tmp_path, monkeypatch,
                                                     peer_mode):
    # MMEngine's AmpOptimWrapper refuses to be built without a GPU; on CPU
    # it works (autocast to bfloat16, the CUDA grad scaler disabled).
    monkeypatch.setattr(amp_optimizer_wrapper, 'is_cuda_available',
                        lambda: True)
    cfg = colam_config(
        tmp_path, max_epochs=2, hook=dict(peer_mode=peer_mode, num_peers=3))
    # bfloat16 is emulated on most CPUs (~1.6 s a batch of 20 here): 40
    # training images, 4 per class, 2 iterations an epoch.
    write_fashion_mnist(
        cfg['train_dataloader']['dataset']['data_root'], num_train=40,
        num_test=20)
    cfg['optim_wrapper'].update(type='AmpOptimWrapper', dtype='bfloat16')
    runner = Runner.from_cfg(Config(cfg))
    check = CheckAmpUpdates()
    runner.register_hook(check)
    runner.train()
    assert check.checked == 1
    assert not torch.allclose(runner.model.head.soft_labels, torch.eye(10))
