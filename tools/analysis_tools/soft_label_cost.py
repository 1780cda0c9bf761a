"""What COLAM costs at large class counts, on CPU, with fake logits and
labels: the work SoftLabelHook does at a stage end, function by function
(collect the peers' class sums, turn them into S in place, its summary, its
history file), and the training targets COLAMHead builds every step, at
C = 1,000 and 21,843 (ImageNet-21k) classes.

Usage:
    python tools/analysis_tools/soft_label_cost.py [--classes 1000 21843]
        [--batches 20] [--batch-size 256] [--dense-max-classes 5000]
        [--seed 0]

Prints, per class count, the peak memory the update adds (Linux peak RSS,
/proc/self/status) as a multiple of one ``(C, C)`` float32 table, and times
(per peer sample for the class sums, hard labels and Mixup scores, so that
growth faster than C shows; whole for the rest), also as multiples of the
time to copy one table. A second table gives the training targets of a batch
in the bounded (default) and the paper's form, for hard labels, Mixup scores
and label-smoothed scores (every class non-zero: the dense product with the
table, timed up to ``--dense-max-classes``): their time per sample and class,
also as a multiple of hard labels' time, and the peak memory a call adds.
Times are this process's CPU time (``time.process_time``): with one thread
(``OMP_NUM_THREADS=1``), an idle machine's wall time, and much less
disturbed than wall time by other jobs on a shared machine.
"""
import mmcolam  # noqa: F401  (first: filters upstream warnings)

# isort: split
import argparse
import ctypes
import tempfile
import time

import torch
from mmengine.logging import MMLogger

from mmcolam.soft_labels import (PeerStatistics, colam_targets,
                                 save_soft_label_history, soft_label_summary,
                                 soft_labels_from_statistics)

#: The target forms timed: COLAMHead's default and the paper's.
TARGET_FORMS = dict(bounded=0.1, paper=None)


def rss_bytes(field: str) -> int:
    """``'VmRSS'`` (now) or ``'VmHWM'`` (peak) of this process."""
    with open('/proc/self/status') as status:
        for line in status:
            if line.startswith(field + ':'):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f'no {field} in /proc/self/status (Linux only)')


def release_freed_memory() -> None:
    """Serve every allocation of 64 KiB or more by mmap, so that freed
    memory leaves the RSS at once and the peak RSS measures what was live
    (glibc otherwise keeps freed blocks of up to 32 MiB in its heap)."""
    ctypes.CDLL('libc.so.6').mallopt(-3, 64 * 1024)  # M_MMAP_THRESHOLD


def reset_peak_rss() -> None:
    with open('/proc/self/clear_refs', 'w') as clear_refs:
        clear_refs.write('5')  # peak RSS := current RSS


def fake_batches(num_classes, batches, batch_size, mixed, generator):
    """Peer logits and their labels: class indices, or Mixup scores."""
    for _ in range(batches):
        logits = torch.randn(batch_size, num_classes, generator=generator)
        labels = torch.randint(num_classes, (batch_size, ),
                               generator=generator)
        if mixed:
            other = labels[torch.randperm(batch_size, generator=generator)]
            lam = torch.rand(batch_size, 1, generator=generator)
            scores = torch.zeros(batch_size, num_classes)
            scores.scatter_(1, labels[:, None], lam)
            scores.scatter_add_(1, other[:, None], 1 - lam)
            labels = scores
        yield logits, labels


def target_labels(kind, num_classes, batches, batch_size, generator):
    """Training labels of one ``kind``: ``'hard'`` class indices, ``'mixup'``
    scores (two classes a sample), ``'smoothed'`` label-smoothed scores
    (eps 0.1, every class non-zero)."""
    for _, labels in fake_batches(num_classes, batches, batch_size,
                                  kind == 'mixup', generator):
        if kind == 'smoothed':
            labels = torch.full((batch_size, num_classes),
                                0.1 / num_classes).scatter_add_(
                                    1, labels[:, None],
                                    torch.full((batch_size, 1), 0.9))
        yield labels


def time_targets(table, batches, batch_size, dense_max_classes, generator,
                 logger) -> dict:
    """Seconds per sample and class of :func:`colam_targets`, and the peak
    memory (bytes) one call adds, for each form and kind of label (None
    where the dense product is not timed)."""
    num_classes = table.size(0)
    result = {}
    for form, smoothing in TARGET_FORMS.items():
        for kind in ('hard', 'mixup', 'smoothed'):
            if kind == 'smoothed' and num_classes > dense_max_classes:
                result[form, kind] = None
                continue
            batches_of_labels = list(
                target_labels(kind, num_classes, batches, batch_size,
                              generator))
            reset_peak_rss()
            before = rss_bytes('VmRSS')
            seconds = 0.0
            for labels in batches_of_labels:
                start = time.process_time()
                colam_targets(labels, table, smoothing)
                seconds += time.process_time() - start
            result[form, kind] = (seconds / (batches * batch_size *
                                             num_classes),
                                  rss_bytes('VmHWM') - before)
            logger.info(f'C={num_classes}: {form} targets, {kind} labels, '
                        f'{1e9 * result[form, kind][0]:.1f} ns a sample and '
                        'class')
    return result


def measure(num_classes, batches, batch_size, dense_max_classes, seed,
            logger) -> dict:
    generator = torch.Generator().manual_seed(seed)
    table_bytes = 4 * num_classes**2
    soft_labels = torch.eye(num_classes)  # the head's S, there before
    copy = torch.empty_like(soft_labels).copy_(soft_labels)  # pages touched
    start = time.process_time()
    copy.copy_(soft_labels)
    copy_seconds = time.process_time() - start
    del copy
    result = dict(classes=num_classes, table_gib=table_bytes / 2**30,
                  copy_seconds=copy_seconds)
    samples = batches * batch_size
    for mixed in (False, True):
        stats = PeerStatistics(num_classes)
        seconds = 0.0
        for logits, labels in fake_batches(num_classes, batches, batch_size,
                                           mixed, generator):
            start = time.process_time()
            stats.update(logits, labels)
            seconds += time.process_time() - start
        key = 'mixup' if mixed else 'hard'
        result[f'{key}_us_per_sample'] = 1e6 * seconds / samples
        logger.info(f'C={num_classes}: class sums, {key} labels, '
                    f'{result[f"{key}_us_per_sample"]:.1f} us a sample')
    del stats
    # The values of S do not change the work: the identity serves.
    result['targets'] = time_targets(soft_labels, batches, batch_size,
                                     dense_max_classes, generator, logger)
    # The update: peer statistics allocated (resample mode), filled, turned
    # into S in place, summarised, saved.
    with tempfile.TemporaryDirectory() as directory:
        reset_peak_rss()
        before = rss_bytes('VmRSS')
        stats = PeerStatistics(num_classes)
        for logits, labels in fake_batches(num_classes, batches, batch_size,
                                           False, generator):
            stats.update(logits, labels)
        start = time.process_time()
        soft_labels_from_statistics(stats, soft_labels, 2.0, out=soft_labels)
        result['table_seconds'] = time.process_time() - start
        start = time.process_time()
        soft_label_summary(soft_labels)
        result['summary_seconds'] = time.process_time() - start
        start = time.process_time()
        writer = save_soft_label_history(directory, 'epoch_1', soft_labels)
        if writer is not None:
            writer.join()
        result['history_seconds'] = time.process_time() - start
        del stats
        result['peak_extra_tables'] = (rss_bytes('VmHWM') -
                                       before) / table_bytes
    logger.info(f'C={num_classes}: update done, peak extra memory '
                f'{result["peak_extra_tables"]:.2f} tables')
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--classes', type=int, nargs='+',
                        default=[1000, 21843])
    parser.add_argument('--batches', type=int, default=20)
    parser.add_argument('--batch-size', type=int, default=256)
    parser.add_argument('--dense-max-classes', type=int, default=5000,
                        help='time the dense targets of label-smoothed '
                        'scores up to this many classes (at C = 21,843 they '
                        'take minutes and about 4 tables of memory)')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    release_freed_memory()
    logger = MMLogger.get_instance('soft_label_cost')
    rows = [measure(c, args.batches, args.batch_size,
                    args.dense_max_classes, args.seed, logger)
            for c in args.classes]
    print(f'\n{torch.get_num_threads()} thread(s); one table = C^2 float32; '
          f'{args.batches * args.batch_size} fake peers per class count\n')
    print('| C | one table (GiB) | peak extra memory (tables) | class sums, '
          'hard labels (us/sample; per class, ns) | class sums, Mixup '
          '(us/sample; per class, ns) | new S in place (s; table copies) | '
          'summary (s; copies) | history file (s; copies) |')
    print('|---|---|---|---|---|---|---|---|')
    for r in rows:
        copies = r['copy_seconds']
        cells = [
            f'{r["classes"]}', f'{r["table_gib"]:.3f}',
            f'{r["peak_extra_tables"]:.2f}',
            f'{r["hard_us_per_sample"]:.1f}; '
            f'{1e3 * r["hard_us_per_sample"] / r["classes"]:.2f}',
            f'{r["mixup_us_per_sample"]:.1f}; '
            f'{1e3 * r["mixup_us_per_sample"] / r["classes"]:.2f}',
        ] + [f'{r[k]:.3f}; {r[k] / copies:.1f}'
             for k in ('table_seconds', 'summary_seconds', 'history_seconds')]
        print('| ' + ' | '.join(cells) + ' |')
    print('\nTraining targets (colam_targets) of a batch: ns per sample and '
          'class (in brackets, times the hard labels of the same form); '
          'peak memory one call adds (MiB)\n')
    print('| C | form | hard labels (ns; MiB) | Mixup scores (ns; MiB) | '
          'label-smoothed scores, dense product (ns; MiB) |')
    print('|---|---|---|---|---|')
    for r in rows:
        for form in TARGET_FORMS:
            times = r['targets']
            hard = times[form, 'hard'][0]
            cells = [f'{r["classes"]}', form] + [
                'not timed' if times[form, kind] is None else
                f'{1e9 * times[form, kind][0]:.1f} '
                f'({times[form, kind][0] / hard:.2f}); '
                f'{times[form, kind][1] / 2**20:.0f}'
                for kind in ('hard', 'mixup', 'smoothed')
            ]
            print('| ' + ' | '.join(cells) + ' |')

if __name__ == '__main__':
    main()
