"""Soft-label history files: the table always, a heatmap only while it is
readable and cheap."""
import os
from types import SimpleNamespace
from unittest.mock import MagicMock

import numpy as np
import pytest
import torch

import mmcolam.soft_labels.heatmap as soft_label_history
from mmcolam.analysis import soft_label_evolution
from mmcolam.engine.hooks.soft_label_hook import UpdateReporter
from mmcolam.models.heads import COLAMHead
from mmcolam.soft_labels import (FULL_HISTORY_MAX_CLASSES, HEATMAP_MAX_CLASSES,
                                 HISTORY_TOP_K, load_table,
                                 save_soft_label_history)


def test_small_table_gets_npy_and_heatmap(tmp_path):
    table = torch.full((4, 4), 0.25)
    writer = save_soft_label_history(str(tmp_path), 'epoch_1', table)
    writer.join()
    np.testing.assert_array_equal(np.load(tmp_path / 'epoch_1.npy'),
                                  table.numpy())
    assert os.path.getsize(tmp_path / 'epoch_1.png') > 0


def test_no_heatmap_above_the_class_limit(tmp_path):
    num_classes = HEATMAP_MAX_CLASSES + 1
    table = torch.eye(num_classes)
    assert save_soft_label_history(str(tmp_path), 'epoch_1', table) is None
    assert sorted(os.listdir(tmp_path)) == ['epoch_1.npy']


def test_top_entries_only_above_the_full_history_limit(tmp_path):
    num_classes = FULL_HISTORY_MAX_CLASSES + 1
    generator = torch.Generator().manual_seed(0)
    table = torch.rand(num_classes, num_classes, generator=generator)
    table /= table.sum(1, keepdim=True)
    assert save_soft_label_history(str(tmp_path), 'iter_5', table) is None
    name = f'iter_5_top{HISTORY_TOP_K}.npz'
    assert sorted(os.listdir(tmp_path)) == [name]
    saved = np.load(tmp_path / name)
    # Against numpy's sort of every row, largest first.
    expected = np.sort(table.numpy(), axis=1)[:, ::-1][:, :HISTORY_TOP_K]
    np.testing.assert_array_equal(saved['values'], expected)
    np.testing.assert_array_equal(
        np.take_along_axis(table.numpy(), saved['indices'], axis=1),
        expected)
    assert saved['indices'].dtype == np.int32
    # 8 bytes an entry kept, against 4 C^2 bytes for the full table.
    assert saved['values'].nbytes + saved['indices'].nbytes == \
        8 * HISTORY_TOP_K * num_classes
    with pytest.raises(FileNotFoundError, match='top entries'):
        soft_label_evolution.load_soft_label_history(str(tmp_path))


@pytest.mark.parametrize('content, pattern', [
    ('truncated', 'not a readable .npy file'),
    ('npz', r'several arrays \(.npz\)'),
    ('complex', 'complex128 values'),
])
def test_broken_table_files_are_named(tmp_path, content, pattern):
    path = tmp_path / 'epoch_1.npy'
    table = np.full((3, 3), 1 / 3)
    if content == 'truncated':
        np.save(path, table)
        path.write_bytes(path.read_bytes()[:100])
    elif content == 'npz':
        with open(path, 'wb') as f:
            np.savez(f, a=table, b=table)
    else:
        np.save(path, table.astype(np.complex128))
    with pytest.raises(ValueError, match=f'epoch_1.npy.*{pattern}'):
        load_table(str(path))
    # Both readers of such files go through it.
    with pytest.raises(ValueError, match=pattern):
        COLAMHead(3, 4, soft_label_file=str(path))
    with pytest.raises(ValueError, match=pattern):
        soft_label_evolution.load_soft_label_history(str(tmp_path))


def drawn_cells(ax, num_classes):
    """The numbers written in a heatmap panel's cells, as a (C, C) array of
    probabilities, and how many decimals each was written with."""
    cells = np.full((num_classes, num_classes), np.nan)
    decimals = np.zeros((num_classes, num_classes), dtype=int)
    for text in ax.texts:
        col, row = text.get_position()
        cells[row, col] = float(text.get_text()) / 100
        decimals[row, col] = len(text.get_text().partition('.')[2])
    assert not np.isnan(cells).any()
    return cells, decimals


def assert_cells_show(ax, expected):
    cells, decimals = drawn_cells(ax, len(expected))
    # A percentage rounded to its decimals is within half its last digit.
    np.testing.assert_array_less(np.abs(cells - expected),
                                 0.5 * 10.0**-decimals / 100 + 1e-9)
    assert (decimals[expected >= 0.1] == 0).all()
    assert (decimals[expected < 0.09] == 1).all()


@pytest.fixture
def drawn_figures(monkeypatch):
    """The figures the heatmap writers draw, in order."""
    figures = []
    draw = soft_label_history.soft_label_figure

    def record(*args):
        figures.append(draw(*args))
        return figures[-1]

    monkeypatch.setattr(soft_label_history, 'soft_label_figure', record)
    return figures


def fake_runner(tmp_path, head, classes):
    return SimpleNamespace(
        logger=MagicMock(), visualizer=MagicMock(), message_hub=MagicMock(),
        work_dir=str(tmp_path), model=SimpleNamespace(head=head),
        train_dataloader=SimpleNamespace(
            dataset=SimpleNamespace(metainfo=dict(classes=classes))))


@pytest.mark.parametrize('options, formula', [
    (dict(), '(1 − 0.1)·y + 0.1·offdiag(S)'),
    (dict(smoothing=0.25), '(1 − 0.25)·y + 0.25·offdiag(S)'),
    (dict(target='paper', hard_label_weight=0.5), '0.5·y + 0.5·y·S'),
])
def test_heatmap_shows_the_training_targets_beside_s(tmp_path, drawn_figures,
                                                     options, formula):
    """The update's heatmap, as SoftLabelHook's reporter draws it: its left
    panel writes the head's training targets in its cells, computed here
    independently of the head; its right panel S, the table of the .npy."""
    classes = ['cat', 'dog', 'fox', 'owl']
    generator = torch.Generator().manual_seed(0)
    table = torch.softmax(
        torch.randn(4, 4, generator=generator) + torch.eye(4), dim=1)
    head = COLAMHead(4, 8, **options)
    head.set_soft_labels(table)
    runner = fake_runner(tmp_path, head, classes)
    reporter = UpdateReporter()
    reporter.report(runner, 'epoch 3', 30, head.soft_labels, {})
    reporter.finish(runner)
    S = table.double().numpy()
    eye = np.eye(4)
    if options.get('target') == 'paper':
        weight = options['hard_label_weight']
        expected = weight * eye + (1 - weight) * S
    else:
        eps = options.get('smoothing', 0.1)
        off = S * (1 - eye)
        expected = (1 - eps) * eye + eps * off / off.sum(1, keepdims=True)
    (fig, ) = drawn_figures
    targets_ax, table_ax, _ = fig.axes
    assert targets_ax.get_title() == ('training targets (what the loss '
                                      f'uses):\n{formula}, y = one-hot label')
    assert table_ax.get_title().startswith('S: the soft-label table')
    assert_cells_show(targets_ax, expected)
    assert_cells_show(table_ax, S)
    np.testing.assert_array_equal(np.load(tmp_path / 'soft_labels' /
                                          'epoch_3.npy'), table.numpy())
    for ax in (targets_ax, table_ax):
        assert [t.get_text() for t in ax.get_xticklabels()] == classes
        assert [t.get_text() for t in ax.get_yticklabels()] == classes
    # The drawn heatmap goes to the visualizer at the update's iteration.
    image = runner.visualizer.add_image.call_args
    assert image.args[0] == 'soft_labels' and image.kwargs == dict(step=30)
    assert image.args[1].shape[2] == 3


def test_heatmap_of_the_paper_form_is_one_panel(tmp_path, drawn_figures):
    """Without a hard-label weight the paper trains on S itself: one panel
    that says so."""
    table = torch.tensor([[0.37, 0.6, 0.03], [0.2, 0.7, 0.1],
                          [0.001, 0.009, 0.99]])
    head = COLAMHead(3, 8, target='paper')
    head.set_soft_labels(table)
    runner = fake_runner(tmp_path, head, ['a', 'b', 'c'])
    reporter = UpdateReporter()
    reporter.report(runner, 'iter 40', 40, head.soft_labels, {})
    reporter.finish(runner)
    (fig, ) = drawn_figures
    ax, _ = fig.axes
    assert ax.get_title() == 'S = the training targets (y·S)'
    assert_cells_show(ax, table.double().numpy())
    assert fig.get_suptitle() == 'soft labels after iter 40'
