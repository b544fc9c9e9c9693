//! Stage 5: secrets — loaded from the per-profile store, or generated exactly once.
//!
//! Input: the resolved `Config`, the store directory and whether the profile was rendered
//! before. Output: a `Store` whose values every output uses, so the same secret is
//! identical in `.env`, compose and every other file, on every re-render.

pub mod generate;
pub mod rotate;
pub mod store;

pub use store::{Opened, Store, StoreOutcome};
