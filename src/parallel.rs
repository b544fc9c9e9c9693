//! An ordered parallel map over a few independent jobs (the profiles of `check`, the two
//! sides of `diff`), on as many threads as the machine has cores. Results come back in
//! input order, so output stays byte-for-byte the same as a sequential run.

use std::sync::atomic::{AtomicUsize, Ordering};

/// `f` applied to every item, in parallel where there are cores to spare; the results
/// in the order of `items`. A panic in `f` is a bug and propagates.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.len());
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    // Each worker takes the next unclaimed item until none is left.
    let work = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else {
                return done;
            };
            done.push((i, f(item)));
        }
    };
    let mut slots: Vec<Option<R>> = items.iter().map(|_| None).collect();
    std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads).map(|_| scope.spawn(work)).collect();
        let mut all = work();
        for helper in helpers {
            match helper.join() {
                Ok(done) => all.extend(done),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        for (i, r) in all {
            slots[i] = Some(r);
        }
    });
    slots
        .into_iter()
        .map(|r| r.expect("every item is taken by exactly one worker"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_input_order() {
        let items: Vec<u64> = (0..200).collect();
        // Uneven work, so workers finish out of order.
        let out = map(&items, |n| {
            let mut x = *n;
            for _ in 0..(n % 7) * 1000 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            }
            (*n, x)
        });
        assert_eq!(out.iter().map(|(n, _)| *n).collect::<Vec<_>>(), items);
        assert_eq!(map(&[] as &[u8], |b| *b), Vec::<u8>::new());
        assert_eq!(map(&[7], |b| b * 2), vec![14]);
    }
}
