//! The simulation harness: runs a system under test inside a deterministic turmoil
//! simulation, drives it with Jepsen-style client processes, injects faults, and returns the
//! recorded history.

pub mod system;

pub use system::{CallError, Client, Invocation, LocalFuture, Reply, System};
