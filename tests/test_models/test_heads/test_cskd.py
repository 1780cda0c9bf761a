import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmpretrain.registry import DATA_SAMPLERS, MODELS
from mmpretrain.structures import DataSample

import mmcolam  # noqa: F401  (registers the components)
from mmcolam.datasets.samplers import class_pair_sampler
from tests.helpers.runner_config import (assert_finished_run,
                                         fashion_mnist_config, train_and_test)


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


def test_partners_are_uniform_over_the_class_anchor_included():
    """As the authors' PairBatchSampler (random.choice over the class): the
    anchor is its own partner with probability 1 / (class size)."""
    sampler_ = sampler()
    counts = {0: {}, 1: {}}
    for epoch in range(6000):
        sampler_.set_epoch(epoch)
        partners = dict(pairs_of(sampler_))
        for anchor in counts:
            counts[anchor][partners[anchor]] = \
                counts[anchor].get(partners[anchor], 0) + 1
    # Sample 0 is in class 0 with samples 2, 5, 8 and 10 (5 members: 1200
    # each expected, binomial sd 31); sample 1 in class 1 with 6 and 9 (3
    # members: 2000 each, sd 37).
    assert sorted(counts[0]) == [0, 2, 5, 8, 10]
    assert sorted(counts[1]) == [1, 6, 9]
    assert all(abs(c - 1200) < 160 for c in counts[0].values()), counts
    assert all(abs(c - 2000) < 190 for c in counts[1].values()), counts
    assert counts[0][0] / 6000 == pytest.approx(0.20, abs=0.027)
    assert counts[1][1] / 6000 == pytest.approx(1 / 3, abs=0.032)


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


@pytest.mark.parametrize('classifier', ['CSKDClassifier', 'ImageClassifier'])
def test_trains_through_runner(tmp_path, classifier):
    """Both forms train: two passes (the authors') and one joint pass."""
    cfg = fashion_mnist_config(
        tmp_path,
        head=dict(type='CSKDHead'),
        sampler=dict(type='ClassPairSampler'),
        # 20 pairs a step: as many steps per epoch as the other runs.
        batch_size=40)
    cfg['model']['type'] = classifier
    losses, metrics = train_and_test(cfg)
    assert_finished_run(losses, metrics)
    assert 'train/loss_cskd' in losses
    # The logged total is the sum of both terms, not the cross-entropy alone.
    assert losses['train/loss'] == pytest.approx(
        losses['train/loss_ce'] + losses['train/loss_cskd'], rel=1e-5)


# ------------------------------------------- parity with the authors' code
@MODELS.register_module(name='CSKDTestLinearBN', force=True)
class LinearBN(torch.nn.Module):
    """Linear -> BatchNorm1d -> ReLU: a backbone whose BatchNorm statistics
    show whether anchors and partners share a forward pass."""

    def __init__(self, in_features=3, width=4):
        super().__init__()
        self.linear = torch.nn.Linear(in_features, width)
        self.bn = torch.nn.BatchNorm1d(width)

    def forward(self, x):
        return (self.bn(self.linear(x)).relu(), )

    def init_weights(self):
        pass


# 12 samples of 4 classes (sizes 5, 3, 1, 3), 3 features each; float64
# throughout, so that both computations agree to rounding.
PARITY_X = torch.tensor(
    np.random.default_rng(3).normal(size=(len(LABELS), 3)))
LR, MOMENTUM, WEIGHT_DECAY, TEMPERATURE, LAMBDA = 0.1, 0.9, 1e-4, 4.0, 1.0


def cskd_model(classifier):
    torch.manual_seed(0)
    return MODELS.build(
        dict(
            type=classifier,
            backbone=dict(type='CSKDTestLinearBN'),
            head=dict(
                type='CSKDHead', num_classes=4, in_channels=4,
                temperature=TEMPERATURE, lambda_cls=LAMBDA))).double()


def sgd(params):
    return torch.optim.SGD(params, lr=LR, momentum=MOMENTUM,
                           weight_decay=WEIGHT_DECAY)


def train_ours(classifier, batches):
    """Our model on the sampler's interleaved batches; per-step losses."""
    model = cskd_model(classifier)
    model.train()
    optimizer = sgd(model.parameters())
    losses = []
    for indices in batches:
        loss = model.loss(PARITY_X[indices], samples([LABELS[i]
                                                      for i in indices]))
        losses.append((loss['loss_ce'].item(), loss['loss_cskd'].item()))
        optimizer.zero_grad()
        (loss['loss_ce'] + loss['loss_cskd']).backward()
        optimizer.step()
    return model, losses


def train_authors(batches):
    """The authors' train.py, re-derived: their batch is the n anchors, then
    the n partners; the network (in training mode) runs the anchors, then,
    under no_grad, the partners; loss = CE(anchors) + lambda * T^2 *
    sum KL(softmax(partner / T) || softmax(anchor / T)) / n; one SGD step."""
    reference = cskd_model('ImageClassifier')  # the same initial weights
    linear = copy.deepcopy(reference.backbone.linear)
    bn = copy.deepcopy(reference.backbone.bn)
    fc = copy.deepcopy(reference.head.fc)

    def net(x):
        return fc(bn(linear(x)).relu())

    params = [*linear.parameters(), *bn.parameters(), *fc.parameters()]
    optimizer = sgd(params)
    losses = []
    for indices in batches:
        anchors, partners = indices[0::2], indices[1::2]
        inputs = PARITY_X[anchors + partners]  # their layout
        targets = torch.tensor([LABELS[i] for i in anchors + partners])
        n = len(inputs) // 2
        outputs = net(inputs[:n])
        cross_entropy = F.cross_entropy(outputs, targets[:n])
        with torch.no_grad():
            partner_outputs = net(inputs[n:])
        log_p = torch.log_softmax(outputs / TEMPERATURE, dim=1)
        q = torch.softmax(partner_outputs / TEMPERATURE, dim=1)
        kd = (q * (q.log() - log_p)).sum() * TEMPERATURE**2 / n
        losses.append((cross_entropy.item(), kd.item()))
        optimizer.zero_grad()
        (cross_entropy + LAMBDA * kd).backward()
        optimizer.step()
    return dict(linear=linear, bn=bn, fc=fc), losses


def two_epochs_of_batches():
    """Two epochs of ClassPairSampler, in batches of 8 (4 pairs)."""
    sampler_ = sampler()
    batches, self_pairs = [], 0
    for epoch in range(2):
        sampler_.set_epoch(epoch)
        indices = list(sampler_)
        batches += [indices[i:i + 8] for i in range(0, len(indices), 8)]
        self_pairs += sum(a == p for a, p in zip(indices[0::2], indices[1::2])
                          if LABELS[a] != 2)
    return batches, self_pairs


def test_two_epochs_match_the_authors_code():
    """CSKDClassifier trains as the authors' code on the same pairs, the
    anchor as its own partner included: the same losses every step, the same
    weights and BatchNorm running statistics after two epochs."""
    batches, self_pairs = two_epochs_of_batches()
    # Class 2 (one sample) always pairs with itself; other anchors did too.
    assert len(batches) == 6 and self_pairs >= 2
    ours, our_losses = train_ours('CSKDClassifier', batches)
    theirs, their_losses = train_authors(batches)
    np.testing.assert_allclose(our_losses, their_losses, rtol=1e-10)
    for name, module in (('linear', ours.backbone.linear),
                         ('bn', ours.backbone.bn), ('fc', ours.head.fc)):
        for (key, value), expected in zip(
                module.state_dict().items(),
                theirs[name].state_dict().values()):
            torch.testing.assert_close(value, expected, msg=key)
    # The joint pass (ImageClassifier) normalises anchors with the partners'
    # statistics: other losses from the first step on, other statistics.
    joint, joint_losses = train_ours('ImageClassifier', batches)
    assert abs(sum(joint_losses[0]) - sum(their_losses[0])) > 1e-3
    assert (joint.backbone.bn.running_mean -
            theirs['bn'].running_mean).abs().max() > 1e-3


def test_classifier_refuses_other_heads_and_odd_batches():
    with pytest.raises(ValueError, match="head.type='CSKDHead'"):
        MODELS.build(
            dict(type='CSKDClassifier',
                 backbone=dict(type='CSKDTestLinearBN'),
                 head=dict(type='LinearClsHead', num_classes=4,
                           in_channels=4)))
    model = cskd_model('CSKDClassifier')
    with pytest.raises(ValueError, match='batch of 3 samples'):
        model.loss(PARITY_X[:3], samples(LABELS[:3]))
