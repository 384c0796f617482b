//! Work on the methods of a package, cut over the machine's cores.
//!
//! Typing and assembling a method read only what the whole package shares
//! (its classes, the linker, the tokens, the constant pool) and write only
//! that method's own result, so the methods can be cut into contiguous runs
//! of about equal bytecode size, one run per core. Runs are joined in order,
//! so results — and the first error — come out exactly as one thread would
//! give them. A small package stays on one thread: starting a thread costs
//! more than typing a small applet.

use std::ops::Range;

/// Bytecode below which one thread does the whole package.
const MIN_PARALLEL_WEIGHT: usize = 8 * 1024;

/// At most this many threads: past it the joins and the allocator's
/// arenas cost more than a run saves.
const MAX_THREADS: usize = 4;

/// Runs `f` over contiguous runs of `items` on up to one thread per core and
/// returns the runs' results in item order. `weight` is an item's share of
/// the work (its bytecode length).
pub fn in_runs<T, R, W, F>(items: &mut [T], weight: W, f: F) -> Vec<R>
where
    T: Send,
    R: Send,
    W: Fn(&T) -> usize,
    F: Fn(&mut [T]) -> R + Sync,
{
    let weights: Vec<usize> = items.iter().map(|t| weight(t) + 1).collect();
    let ranges = split(&weights, threads_for(&weights));
    if ranges.len() <= 1 {
        return vec![f(items)];
    }
    let mut runs = Vec::with_capacity(ranges.len());
    let mut rest = items;
    for r in &ranges {
        let (run, tail) = rest.split_at_mut(r.len());
        runs.push(run);
        rest = tail;
    }
    let f = &f;
    std::thread::scope(|scope| {
        let mut runs = runs.into_iter();
        let first = runs.next();
        let handles: Vec<_> = runs.map(|run| scope.spawn(move || f(run))).collect();
        let mut results = Vec::with_capacity(ranges.len());
        results.extend(first.map(f));
        for h in handles {
            results.push(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
        results
    })
}

/// How many threads work of these weights is worth.
fn threads_for(weights: &[usize]) -> usize {
    if weights.iter().sum::<usize>() < MIN_PARALLEL_WEIGHT {
        return 1;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores.min(MAX_THREADS).min(weights.len()).max(1)
}

/// Cuts `weights` into at most `n` contiguous, non-empty ranges of about
/// equal total weight, covering every item.
fn split(weights: &[usize], n: usize) -> Vec<Range<usize>> {
    let total: usize = weights.iter().sum();
    let mut ranges = Vec::with_capacity(n);
    let (mut start, mut acc) = (0, 0);
    for (i, w) in weights.iter().enumerate() {
        acc += w;
        if ranges.len() + 1 < n && acc * n >= total * (ranges.len() + 1) {
            ranges.push(start..i + 1);
            start = i + 1;
        }
    }
    if start < weights.len() || ranges.is_empty() {
        ranges.push(start..weights.len());
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_every_item_once_in_order() {
        for n in 1..6 {
            for weights in [
                vec![],
                vec![5],
                vec![1, 1, 1, 1, 1, 1, 1],
                vec![100, 1, 1, 1, 50, 2],
            ] {
                let ranges = split(&weights, n);
                let mut next = 0;
                for r in &ranges {
                    assert_eq!(r.start, next);
                    assert!(r.end > r.start || weights.is_empty());
                    next = r.end;
                }
                assert_eq!(next, weights.len());
                assert!(ranges.len() <= n.max(1));
            }
        }
    }

    #[test]
    fn equal_weights_split_evenly() {
        assert_eq!(split(&[1; 8], 2), vec![0..4, 4..8]);
        assert_eq!(split(&[1; 9], 3), vec![0..3, 3..6, 6..9]);
    }

    #[test]
    fn results_come_back_in_item_order() {
        let mut items: Vec<usize> = (0..5000).collect();
        let runs = in_runs(
            &mut items,
            |_| 10,
            |run| run.iter().map(|x| x * 2).collect::<Vec<_>>(),
        );
        let joined: Vec<usize> = runs.into_iter().flatten().collect();
        assert_eq!(joined, (0..5000).map(|x| x * 2).collect::<Vec<_>>());
    }
}
