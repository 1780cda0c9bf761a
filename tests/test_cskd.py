import numpy as np
import pytest
import torch
from mmpretrain.registry import DATA_SAMPLERS, MODELS
from mmpretrain.structures import DataSample
from runner_config import (assert_finished_run, fashion_mnist_config,
                           train_and_test)

import mmcolam  # noqa: F401  (registers the components)
from mmcolam.datasets.samplers import class_pair_sampler


class LabelledRange:
    """The minimal dataset a sampler needs: a length and one class each."""

    def __init__(self, labels):
        self.labels = list(labels)

    def __len__(self):
        return len(self.labels)

    def get_cat_ids(self, index):
        return [self.labels[index]]


# Classes of sizes 5, 3, 1 and 3: class 2 has a single sample.
LABELS = [0, 1, 0, 2, 3, 0, 1, 3, 0, 1, 0, 3]


def sampler(labels=LABELS, **kwargs):
    return DATA_SAMPLERS.build(
        dict(type='ClassPairSampler', seed=0, **kwargs),
        default_args=dict(dataset=LabelledRange(labels)))


def pairs_of(sampler_):
    indices = list(sampler_)
    assert len(indices) == len(sampler_)
    return list(zip(indices[0::2], indices[1::2]))


def test_every_pair_is_same_class_and_every_sample_is_an_anchor():
    for epoch in range(20):
        sampler_ = sampler()
        sampler_.set_epoch(epoch)
        pairs = pairs_of(sampler_)
        assert sorted(anchor for anchor, _ in pairs) == list(
            range(len(LABELS)))
        for anchor, partner in pairs:
            assert LABELS[anchor] == LABELS[partner]
            # Another sample of the class, unless the class has only one.
            assert (partner == anchor) == (LABELS.count(LABELS[anchor]) == 1)


def test_partners_are_uniform_over_the_other_class_members():
    sampler_ = sampler()
    counts = {}
    for epoch in range(4000):
        sampler_.set_epoch(epoch)
        partner = dict(pairs_of(sampler_))[0]
        counts[partner] = counts.get(partner, 0) + 1
    # Sample 0 is in class 0 with samples 2, 5, 8 and 10: 1000 each expected,
    # binomial standard deviation 27.
    assert sorted(counts) == [2, 5, 8, 10]
    assert all(abs(count - 1000) < 150 for count in counts.values()), counts


def test_two_ranks_split_the_anchors_without_overlap(monkeypatch):
    single = pairs_of(sampler())
    shards = []
    for rank in range(2):
        monkeypatch.setattr(class_pair_sampler, 'get_dist_info',
                            lambda rank=rank: (rank, 2))
        shards.append(pairs_of(sampler()))
    anchors = [{anchor for anchor, _ in shard} for shard in shards]
    assert not anchors[0] & anchors[1]
    assert anchors[0] | anchors[1] == set(range(len(LABELS)))
    assert len(shards[0]) == len(shards[1]) == len(LABELS) // 2
    # Pairs do not depend on the world size: rank r holds pairs r, r + 2, ...
    assert shards[0] == single[0::2] and shards[1] == single[1::2]


def test_round_up_evens_out_the_ranks(monkeypatch):
    labels = LABELS[:11]
    lengths, anchors = [], set()
    for rank in range(2):
        monkeypatch.setattr(class_pair_sampler, 'get_dist_info',
                            lambda rank=rank: (rank, 2))
        pairs = pairs_of(sampler(labels))
        lengths.append(len(pairs))
        anchors |= {anchor for anchor, _ in pairs}
    assert lengths == [6, 6] and anchors == set(range(11))
    lengths = []
    for rank in range(2):
        monkeypatch.setattr(class_pair_sampler, 'get_dist_info',
                            lambda rank=rank: (rank, 2))
        lengths.append(len(pairs_of(sampler(labels, round_up=False))))
    assert lengths == [6, 5]


def test_order_depends_on_seed_and_epoch_only():
    first, again = sampler(), sampler()
    assert list(first) == list(again)
    again.set_epoch(1)
    assert list(first) != list(again)
    first.set_epoch(1)
    assert list(first) == list(again)
    assert list(sampler()) != list(
        DATA_SAMPLERS.build(
            dict(type='ClassPairSampler', seed=1),
            default_args=dict(dataset=LabelledRange(LABELS))))


def test_no_shuffle_keeps_anchor_order():
    pairs = pairs_of(sampler(shuffle=False))
    assert [anchor for anchor, _ in pairs] == list(range(len(LABELS)))


@pytest.mark.parametrize('kwargs, option', [
    (dict(shuffle=1), 'shuffle'),
    (dict(round_up='yes'), 'round_up'),
    (dict(seed=1.5), 'seed'),
])
def test_sampler_bad_arguments(kwargs, option):
    with pytest.raises(ValueError, match=option):
        class_pair_sampler.ClassPairSampler(
            LabelledRange(LABELS), **kwargs)


def test_sampler_bad_datasets():
    with pytest.raises(ValueError, match='get_cat_ids'):
        class_pair_sampler.ClassPairSampler(list(range(4)), seed=0)
    multi_label = LabelledRange(LABELS)
    multi_label.get_cat_ids = lambda index: [0, 1]
    with pytest.raises(ValueError, match='exactly one class'):
        class_pair_sampler.ClassPairSampler(multi_label, seed=0)


def build_head(**kwargs):
    head = MODELS.build(
        dict(type='CSKDHead', num_classes=3, in_channels=2, **kwargs))
    with torch.no_grad():
        head.fc.weight.copy_(torch.tensor([[1.0, -0.5], [0.3, 0.8],
                                           [-1.2, 0.4]]))
        head.fc.bias.copy_(torch.tensor([0.1, 0.0, -0.2]))
    return head


def samples(labels):
    return [DataSample().set_gt_label(label) for label in labels]


FEATS = np.array([[1.0, 2.0], [0.5, 1.5], [-1.0, 0.3], [2.0, -1.0],
                  [0.2, 0.2], [1.5, 0.5]])
PAIR_LABELS = [1, 1, 2, 2, 0, 0]


def log_softmax(x):
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def test_head_loss_against_numpy():
    temperature, lambda_cls = 3.0, 0.7
    head = build_head(temperature=temperature, lambda_cls=lambda_cls)
    losses = head.loss((torch.tensor(FEATS, dtype=torch.float32), ),
                       samples(PAIR_LABELS))
    weight = head.fc.weight.detach().numpy().astype(np.float64)
    bias = head.fc.bias.detach().numpy().astype(np.float64)
    logits = FEATS @ weight.T + bias
    anchors, partners = logits[0::2], logits[1::2]
    labels = np.array(PAIR_LABELS[0::2])
    cross_entropy = -log_softmax(anchors)[np.arange(3), labels].mean()
    log_q = log_softmax(anchors / temperature)
    log_p = log_softmax(partners / temperature)
    kl = (np.exp(log_p) * (log_p - log_q)).sum(axis=1).mean()
    assert set(losses) == {'loss_ce', 'loss_cskd'}
    assert losses['loss_ce'].item() == pytest.approx(cross_entropy, rel=1e-5)
    assert losses['loss_cskd'].item() == pytest.approx(
        lambda_cls * temperature**2 * kl, rel=1e-5)


def test_defaults_are_the_authors():
    head = build_head()
    assert (head.temperature, head.lambda_cls) == (4.0, 1.0)


def test_no_gradient_flows_through_the_partners():
    feats = torch.tensor(FEATS, dtype=torch.float32, requires_grad=True)
    losses = build_head().loss((feats, ), samples(PAIR_LABELS))
    (losses['loss_ce'] + losses['loss_cskd']).backward()
    assert torch.all(feats.grad[1::2] == 0)
    assert torch.all(feats.grad[0::2].abs().sum(dim=1) > 0)


def test_prediction_is_that_of_linear_head():
    head = build_head()
    linear = MODELS.build(
        dict(type='LinearClsHead', num_classes=3, in_channels=2))
    linear.load_state_dict(head.state_dict())
    feats = (torch.tensor(FEATS, dtype=torch.float32), )
    for ours, theirs in zip(head.predict(feats), linear.predict(feats)):
        assert torch.equal(ours.pred_score, theirs.pred_score)
        assert torch.equal(ours.pred_label, theirs.pred_label)


def test_accuracy_on_anchors():
    head = build_head(cal_acc=True)
    losses = head.loss((torch.tensor(FEATS, dtype=torch.float32), ),
                       samples(PAIR_LABELS))
    logits = head((torch.tensor(FEATS, dtype=torch.float32), ))[0::2]
    expected = (logits.argmax(dim=1) == torch.tensor(
        PAIR_LABELS[0::2])).float().mean() * 100
    # As in ClsHead: one value per threshold, here the single default one.
    assert losses['accuracy_top-1'][0].item() == pytest.approx(
        expected.item())


def test_head_refuses_unpaired_batches():
    head = build_head()
    feats = (torch.tensor(FEATS, dtype=torch.float32), )
    with pytest.raises(ValueError, match='share their class'):
        head.loss(feats, samples([1, 2, 2, 2, 0, 0]))
    with pytest.raises(ValueError, match='even'):
        head.loss((feats[0][:5], ), samples(PAIR_LABELS[:5]))
    mixed = [
        DataSample().set_gt_label(label).set_gt_score(torch.eye(3)[label])
        for label in PAIR_LABELS
    ]
    with pytest.raises(ValueError, match='batch augmentation'):
        head.loss(feats, mixed)


@pytest.mark.parametrize('kwargs, option', [
    (dict(temperature=0.0), 'temperature'),
    (dict(lambda_cls=-1.0), 'lambda_cls'),
    (dict(lambda_cls=float('nan')), 'lambda_cls'),
])
def test_head_bad_arguments(kwargs, option):
    with pytest.raises(ValueError, match=option):
        build_head(**kwargs)


def test_trains_through_runner(tmp_path):
    cfg = fashion_mnist_config(
        tmp_path,
        head=dict(type='CSKDHead'),
        sampler=dict(type='ClassPairSampler'),
        # 20 pairs a step: as many steps per epoch as the other runs.
        batch_size=40)
    losses, metrics = train_and_test(cfg)
    assert_finished_run(losses, metrics)
    assert 'train/loss_cskd' in losses
    # The logged total is the sum of both terms, not the cross-entropy alone.
    assert losses['train/loss'] == pytest.approx(
        losses['train/loss_ce'] + losses['train/loss_cskd'], rel=1e-5)
