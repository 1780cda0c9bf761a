"""Distances between class templates and penultimate representations
(paper Section 5.2, Table 5, Fig. 2 and Fig. 3).

Notation (Müller et al. 2019, which the paper follows): ``x`` is the
penultimate representation of a sample (the input of the last linear layer)
and the template ``w_k`` of class ``k`` is row ``k`` of that layer's weight,
so the logit is ``x^T w_k`` (+ bias). As in the paper, every vector is
L2-normalised before any distance is taken, so distances lie in ``[0, 2]``.

The computations work on plain arrays (numpy, or CPU torch tensors, which
``np.asarray`` accepts) in float64; the ``plot_*`` functions draw the
figures of ``tools/analysis_tools/templates_vs_representations.py``.
"""
from typing import Dict, List, Sequence

import numpy as np

from mmcolam.analysis.figures import new_figure


def l2_normalize(vectors, eps: float = 1e-12) -> np.ndarray:
    """Rows of ``vectors`` scaled to unit Euclidean norm.

    Raises:
        ValueError: if a row is (numerically) zero, which has no direction.
    """
    vectors = np.asarray(vectors, dtype=np.float64)
    if vectors.ndim != 2:
        raise ValueError(f'expected a (N, D) array of vectors, got shape '
                         f'{vectors.shape}')
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    if (norms <= eps).any():
        raise ValueError(f'rows {np.flatnonzero(norms[:, 0] <= eps).tolist()}'
                         ' are zero vectors and cannot be normalised')
    return vectors / norms


def pairwise_distances(a, b) -> np.ndarray:
    """``(len(a), len(b))`` Euclidean distances between the rows of two
    arrays (no normalisation)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return np.linalg.norm(a[:, None, :] - b[None, :, :], axis=-1)


def template_distances(templates) -> np.ndarray:
    """``(K, K)`` distances between the L2-normalised templates (Table 5)."""
    normed = l2_normalize(templates)
    return pairwise_distances(normed, normed)


def _class_members(features, labels, classes: Sequence[int]):
    """Yield the rows of ``features`` of each class of ``classes`` in turn;
    raise for a class with none."""
    labels = np.asarray(labels)
    for c in classes:
        members = features[labels == c]
        if len(members) == 0:
            raise ValueError(f'class {c} has no sample among the features')
        yield members


def class_centroids(features, labels, classes: Sequence[int]) -> np.ndarray:
    """Centroid of each class's normalised representations, normalised in
    turn (so that it is compared with samples on the same unit sphere as the
    templates).

    Returns:
        np.ndarray: ``(len(classes), D)``, row ``i`` for ``classes[i]``.
    """
    means = [
        members.mean(axis=0)
        for members in _class_members(l2_normalize(features), labels, classes)
    ]
    return l2_normalize(np.stack(means))


def average_distances(anchors, features, labels,
                      classes: Sequence[int]) -> np.ndarray:
    """Average distance from each anchor to the samples of each class.

    Both the anchors (templates or centroids) and the samples are
    L2-normalised first (Fig. 3: ADT with templates, ADC with centroids).

    Returns:
        np.ndarray: ``(len(anchors), len(classes))``; entry ``[i, j]`` is the
        mean of ``||a_i - x||`` over the samples ``x`` of ``classes[j]``.
    """
    anchors = l2_normalize(anchors)
    columns = [
        pairwise_distances(anchors, members).mean(axis=1)
        for members in _class_members(l2_normalize(features), labels, classes)
    ]
    return np.stack(columns, axis=1)


def template_plane(templates):
    """An orthonormal basis of the plane through three templates (Fig. 2,
    after Müller et al. 2019).

    The templates are normalised; the plane is the affine plane that passes
    through the three of them. Its origin is their mean (the centre of the
    triangle they form) and its first axis points from the first template
    to the second, the second axis completes it by Gram-Schmidt.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``origin`` ``(D,)`` and ``basis``
        ``(2, D)`` with orthonormal rows.
    """
    normed = l2_normalize(templates)
    if normed.shape[0] != 3:
        raise ValueError(f'the projection plane passes through exactly three '
                         f'templates, got {normed.shape[0]}')
    origin = normed.mean(axis=0)
    # The normalised templates have unit norm: an absolute tolerance works.
    first = normed[1] - normed[0]
    second = normed[2] - normed[0]
    if np.linalg.norm(first) < 1e-9:
        raise ValueError('the first two templates point the same way, so '
                         'the three span no plane')
    u = first / np.linalg.norm(first)
    second = second - (second @ u) * u
    if np.linalg.norm(second) < 1e-9:
        raise ValueError('the three templates are collinear after '
                         'normalisation, so they span no plane')
    return origin, np.stack([u, second / np.linalg.norm(second)])


def project_onto_plane(points, origin, basis) -> np.ndarray:
    """Coordinates of the orthogonal projection of ``points`` onto the plane
    ``origin + span(basis)``: ``(points - origin) @ basis.T``, ``(N, 2)``.

    Distances between points that lie in the plane are kept exactly; for
    other points they are those of their projections."""
    points = np.asarray(points, dtype=np.float64)
    return (points - np.asarray(origin)) @ np.asarray(basis).T


def representation_analysis(features, labels, templates,
                            classes: Sequence[int]) -> Dict:
    """All the numbers of paper Section 5.2 for one model.

    Args:
        features: ``(N, D)`` penultimate representations.
        labels: ``(N,)`` class index of every representation.
        templates: ``(C, D)`` weight of the last linear layer (all classes).
        classes (Sequence[int]): the chosen classes (order of every output).

    Returns:
        dict: ``template_distances`` ``(k, k)``, ``pair_distances`` (list of
        ``(i, j, distance)`` for ``i < j``, positions in ``classes``),
        ``average_template_distance`` (mean over the pairs),
        ``template_to_samples`` (ADT, ``(k, k)``, row = template, column =
        class of the samples), ``centroid_to_samples`` (ADC, same layout)
        and, for exactly three classes, ``projection`` with the 2-D
        ``templates`` ``(3, 2)`` and ``samples`` ``(N, 2)`` (the order of
        ``features``) and the plane's ``origin`` and ``basis``.
    """
    classes = [int(c) for c in classes]
    chosen = np.asarray(templates, dtype=np.float64)[classes]
    distances = template_distances(chosen)
    pairs = [(i, j, float(distances[i, j]))
             for i in range(len(classes)) for j in range(i + 1, len(classes))]
    result = dict(
        template_distances=distances,
        pair_distances=pairs,
        average_template_distance=float(np.mean([p[2] for p in pairs]))
        if pairs else float('nan'),
        template_to_samples=average_distances(chosen, features, labels,
                                              classes),
        centroid_to_samples=average_distances(
            class_centroids(features, labels, classes), features, labels,
            classes))
    if len(classes) == 3:
        origin, basis = template_plane(chosen)
        result['projection'] = dict(
            origin=origin,
            basis=basis,
            templates=project_onto_plane(l2_normalize(chosen), origin, basis),
            samples=project_onto_plane(l2_normalize(features), origin, basis))
    return result


def template_distance_rows(results: Sequence[Dict]) -> List[list]:
    """Table 5 as rows ``[pair name, distance of model 1, ...]``, the last
    row ``['Average', ...]``. ``results`` are :func:`representation_analysis`
    dicts (one per model, same classes) with ``class_names`` added."""
    class_names = results[0]['class_names']
    rows = [[f'({class_names[i]}, {class_names[j]})'] +
            [float(r['template_distances'][i, j]) for r in results]
            for i, j, _ in results[0]['pair_distances']]
    rows.append(['Average'] +
                [r['average_template_distance'] for r in results])
    return rows


def plot_average_distances(results: Sequence[Dict], names: Sequence[str],
                           path: str) -> None:
    """Fig. 3: per model, heatmaps of the average distance from each
    template (ADT, top) and each centroid (ADC, bottom) to the samples of each
    class. ``results`` are :func:`representation_analysis` dicts with
    ``classes`` and ``class_names`` added."""
    k = len(results[0]['classes'])
    fig = new_figure(figsize=(1.2 + 0.9 * k * len(results), 1.6 + 1.8 * k))
    axes = fig.subplots(2, len(results), squeeze=False)
    for col, (name, r) in enumerate(zip(names, results)):
        for row, (key, what) in enumerate(
                (('template_to_samples', 'template'),
                 ('centroid_to_samples', 'centroid'))):
            ax = axes[row, col]
            values = r[key]
            image = ax.imshow(values, cmap='viridis_r', vmin=0)
            for a in range(k):
                for s in range(k):
                    # viridis_r is bright at small values: dark text there.
                    dark = image.norm(values[a, s]) < 0.5
                    ax.text(s, a, f'{values[a, s]:.3f}', ha='center',
                            va='center', fontsize=7,
                            color='black' if dark else 'white')
            ticks = np.arange(k)
            ax.set_xticks(ticks, r['class_names'], rotation=45, fontsize=7)
            ax.set_yticks(ticks, r['class_names'], fontsize=7)
            ax.set_xlabel('samples of class', fontsize=8)
            ax.set_ylabel(what, fontsize=8)
            ax.set_title(f'{name}: AD{what[0].upper()}', fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def plot_projection(results: Sequence[Dict], names: Sequence[str],
                    path: str) -> None:
    """Fig. 2: per model, the samples (coloured by class) and the templates
    (red stars) on the plane through the three templates. ``results`` are
    :func:`representation_analysis` dicts with ``classes``, ``class_names``
    and ``sample_labels`` added."""
    fig = new_figure(figsize=(4.2 * len(results), 4.2))
    axes = fig.subplots(1, len(results), squeeze=False)
    for ax, name, r in zip(axes[0], names, results):
        projection = r['projection']
        for pos, c in enumerate(r['classes']):
            points = projection['samples'][r['sample_labels'] == c]
            ax.scatter(points[:, 0], points[:, 1], s=8, alpha=0.6,
                       label=r['class_names'][pos])
        ax.scatter(projection['templates'][:, 0],
                   projection['templates'][:, 1], marker='*', s=220,
                   color='red', edgecolor='black', label='templates')
        for (x, y), class_name in zip(projection['templates'],
                                      r['class_names']):
            ax.annotate(class_name, (x, y), textcoords='offset points',
                        xytext=(8, 6), fontsize=8)
        ax.set_aspect('equal')
        ax.set_title(name)
        ax.legend(fontsize=7)
    fig.suptitle('representations on the plane through the three templates')
    fig.tight_layout()
    fig.savefig(path, dpi=100)
