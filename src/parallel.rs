//! An ordered parallel map over a few independent jobs (the profiles of `check`, the two
//! sides of `diff`), on as many threads as the machine has cores once there are enough
//! jobs to pay for a thread. Results come back in input order, so output stays
//! byte-for-byte the same as a sequential run.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Fewer jobs than this run on the calling thread alone.
const MIN_ITEMS: usize = 3;

/// `setup` on the calling thread, then `f(&shared, item)` for every item, in parallel
/// where there are cores to spare; the results in the order of `items`, or `setup`'s
/// error. A panic in `f` is a bug and propagates.
///
/// The jobs take about a millisecond each, about as long as a scheduler takes to spread
/// new threads over the cores: left to itself (measured on a two-core virtual machine),
/// the helper thread often ran on the calling thread's core, the two taking turns while
/// the other core idled, which made the parallel map no faster than a plain loop. So the
/// helpers start before `setup` runs, keep off the calling thread's core, and wait for
/// the shared state by spinning rather than sleeping (waking a sleeper puts it on the
/// waker's core).
pub fn map_with<S: Send + Sync, E, T: Sync, R: Send>(
    items: &[T],
    setup: impl FnOnce() -> Result<S, E>,
    f: impl Fn(&S, &T) -> R + Sync,
) -> Result<Vec<R>, E> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.len());
    // A helper thread costs about 0.4 ms to start and feed here (measured: with two
    // one-millisecond jobs, as in `diff`, two threads were no faster than one).
    if threads <= 1 || items.len() < MIN_ITEMS {
        let shared = setup()?;
        return Ok(items.iter().map(|item| f(&shared, item)).collect());
    }
    // Set once by this thread; `None` after a failed setup, which sends the helpers home.
    let shared: OnceLock<Option<S>> = OnceLock::new();
    let next = AtomicUsize::new(0);
    // Each worker waits for the shared state, then takes the next unclaimed item until
    // none is left.
    let work = || {
        let mut done = Vec::new();
        let state = wait_for(&shared);
        let Some(state) = state.as_ref() else {
            return done;
        };
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else {
                return done;
            };
            done.push((i, f(state, item)));
        }
    };
    let mut slots: Vec<Option<R>> = items.iter().map(|_| None).collect();
    std::thread::scope(|scope| {
        let here = current_cpu();
        let helpers: Vec<_> = (1..threads)
            .map(|_| {
                scope.spawn(move || {
                    avoid_cpu(here);
                    work()
                })
            })
            .collect();
        // Whatever happens in `setup`, a panic included, the helpers get an answer:
        // otherwise they would wait for ever and the scope with them.
        let failed = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(setup)) {
            Ok(Ok(state)) => {
                let _ = shared.set(Some(state));
                None
            }
            Ok(Err(e)) => {
                let _ = shared.set(None);
                Some(e)
            }
            Err(panic) => {
                let _ = shared.set(None);
                for helper in helpers {
                    let _ = helper.join();
                }
                std::panic::resume_unwind(panic);
            }
        };
        let mut all = work();
        for helper in helpers {
            match helper.join() {
                Ok(done) => all.extend(done),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        if let Some(e) = failed {
            return Err(e);
        }
        for (i, r) in all {
            slots[i] = Some(r);
        }
        Ok(())
    })?;
    Ok(slots
        .into_iter()
        .map(|r| r.expect("every item is taken by exactly one worker"))
        .collect())
}

#[cfg(target_os = "linux")]
fn current_cpu() -> Option<usize> {
    // SAFETY: no arguments, no memory touched.
    usize::try_from(unsafe { libc::sched_getcpu() }).ok()
}

#[cfg(not(target_os = "linux"))]
fn current_cpu() -> Option<usize> {
    None
}

/// Keep the calling thread off `cpu` (where the spawning thread runs), unless that would
/// leave it nowhere to run.
#[cfg(target_os = "linux")]
fn avoid_cpu(cpu: Option<usize>) {
    let Some(cpu) = cpu else { return };
    // SAFETY: `set` is a plain bitmask owned by this frame; pid 0 is the calling thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return;
        }
        libc::CPU_CLR(cpu, &mut set);
        if libc::CPU_COUNT(&set) > 0 {
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn avoid_cpu(_: Option<usize>) {}

/// The value of `cell` once it is set: spinning for a few milliseconds (what a setup
/// takes), then sleeping briefly between looks.
fn wait_for<V>(cell: &OnceLock<V>) -> &V {
    let started = Instant::now();
    loop {
        if let Some(v) = cell.get() {
            return v;
        }
        if started.elapsed() < Duration::from_millis(5) {
            std::hint::spin_loop();
        } else {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_input_order() {
        let items: Vec<u64> = (0..200).collect();
        // Uneven work, so workers finish out of order.
        let out = map_with(
            &items,
            || Ok::<u64, ()>(6364136223846793005),
            |k, n| {
                let mut x = *n;
                for _ in 0..(n % 7) * 1000 {
                    x = x.wrapping_mul(*k).wrapping_add(1);
                }
                (*n, x)
            },
        )
        .unwrap();
        assert_eq!(out.iter().map(|(n, _)| *n).collect::<Vec<_>>(), items);
        let ok = || Ok::<u8, ()>(2);
        assert_eq!(map_with(&[] as &[u8], ok, |k, b| b * k), Ok(Vec::new()));
        assert_eq!(map_with(&[7], ok, |k, b| b * k), Ok(vec![14]));
    }

    #[test]
    fn a_panicking_setup_panics_instead_of_hanging() {
        let outcome = std::panic::catch_unwind(|| {
            map_with(
                &[1, 2, 3, 4],
                || -> Result<u8, ()> { panic!("setup broke") },
                |_, n| n * 2,
            )
        });
        assert!(outcome.is_err());
    }

    #[test]
    fn a_failed_setup_runs_nothing() {
        let ran = AtomicUsize::new(0);
        let out = map_with(
            &[1, 2, 3, 4],
            || Err::<u8, _>("no renderer"),
            |_, _| ran.fetch_add(1, Ordering::Relaxed),
        );
        assert_eq!(out, Err("no renderer"));
        assert_eq!(ran.load(Ordering::Relaxed), 0);
    }
}
