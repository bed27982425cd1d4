//! Integration tests of the Raft node on an in-process, deterministic cluster.

mod cluster;
mod harness;
