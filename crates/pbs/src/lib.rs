//! `pbs`: Probabilistically Bounded Staleness (Bailis et al., VLDB 2012), predicted and measured.
//!
//! The question: after a write is acknowledged by W of its N replicas, what is the probability
//! that a read of R replicas started `t` later returns it? Two independent answers, which must
//! agree:
//!
//! - [`wars`]: the WARS model. Every replica gets the write after a delay W, acknowledges after
//!   A, receives the read after R and answers after S; the write commits at the W-th
//!   acknowledgement, the read returns the newest of the first R answers. Evaluated by Monte
//!   Carlo from the delay distributions alone, plus the closed-form bound
//!   [`wars::miss_probability`] = C(N-W, R) / C(N, R) for when nothing has propagated.
//! - [`trial`]: the quorum store's own protocol code ([`quorum_core::Node`] with in-memory storage,
//!   read repair, hints and anti-entropy off) on [`network`], a deterministic discrete-event
//!   network that delivers every message after an independently drawn delay in continuous
//!   (nanosecond) time. Each trial writes a fresh key through a coordinator that is not one of
//!   the key's replicas, waits `t` after the acknowledgement and reads it back.
//!
//! Why not turmoil: its message delays are whole milliseconds and its TCP streams deliver in
//! order, so a read request can never overtake a write sent earlier on the same stream and
//! ties within a millisecond are frequent; both break the independence the model assumes
//! (the measured effect would be the simulator's, not the protocol's). The nodes here are the
//! same state machines the turmoil servers drive.
//!
//! [`delay`] holds the delay distributions both sides sample. Determinism: seeded
//! [`base::Rng`] streams, ordered maps; the same seed gives the same figures.
//!
//! Dependencies: the protocol core (`quorum-core`) and the pure shared types (`base`) only, so
//! this model compiles no simulator, runtime or storage engine.

#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod delay;
pub mod network;
pub mod trial;
pub mod wars;

pub use delay::{Delay, DelayError, Wars};
pub use trial::{measure, Measurement, TrialConfig, TrialError};
pub use wars::{miss_probability, predict, Quorums};
