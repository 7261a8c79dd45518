//! What the benchmarks share (each bench is a crate of its own and includes this module).

use std::time::Duration;

/// The `p`-th percentile (0.0–1.0) of durations sorted ascending; zero for none.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}
