//! The fifteen claims, one file each, named `cNN_what.rs` so that the directory lists them in ledger
//! order: each file holds the claim's quote and source, the thresholds its verdict uses (named
//! constants that say why they have their value), its judgment (a pure function of the
//! [`Evidence`](crate::evidence::Evidence) returning a [`Claim`](crate::ledger::Claim)) and its
//! unit tests, one per verdict it can reach.
//!
//! | file | claim | judged on |
//! |---|---|---|
//! | [`c01_memtable`] | 1, memtable writes give minimal latency | power-loss latencies, `lab bench engines` |
//! | [`c02_linear_scaling`] | 2, scales linearly with nodes | the scaling sweep |
//! | [`c03_eventual_throughput`] | 3, eventual consistency buys throughput | the scaling sweep |
//! | [`c04_sql_bottleneck`] | 4, SQL bottlenecks as load grows | contention-light, contention-heavy (SQLite) |
//! | [`c05_availability`] | 5, NoSQL stays available under failures | the fault experiments |
//! | [`c06_sql_consistency`] | 6, SQL ensures strong consistency | the fault experiments (SQLite) |
//! | [`c07_convergence`] | 7, replicas converge after faults heal | the fault experiments (replicated) |
//! | [`c08_strict_quorums`] | 8, R + W > N reads see the latest write | quorum-caveats, the fault experiments, staleness |
//! | [`c09_last_write_wins`] | 9, last-write-wins is safe under clock skew | clock-skew-lww |
//! | [`c10_durable`] | 10, acknowledged writes are durable | power-loss, disk-io-errors |
//! | [`c11_sql_transactions`] | 11, SQL ensures transactional integrity | bank, list-append, contention (SQLite) |
//! | [`c12_forgo_transactions`] | 12, forgoing transactions gives faster writes | contention (SQLite with and without transactions) |
//! | [`c13_replication_overhead`] | 13, SQL high availability introduces overhead | replication-overhead (one SQLite server against SQLite on Raft) |
//! | [`c14_async_replication`] | 14, asynchronous replication loses acknowledged writes on failover | failover, the fault experiments (SQLite on Raft) |
//! | [`c15_write_concern`] | 15, MongoDB w:1 loses writes, w:majority does not | failover (SQLite on Raft, async and majority acknowledgement) |
//!
//! Shared by several claims: [`fault_experiments`] (the fault experiments' names, the ones a
//! claim requires, what each injects, rows in words, each seed's faults and their kinds) and
//! [`scaling_sweep`] (the sweep's seed and levels, "not measured" with its command) and
//! [`transactions`] (the transactional experiments, integrity per seed, committed rates). Which
//! systems a claim looks at is chosen by their recorded properties in [`crate::select`], never by
//! their names.

pub mod c01_memtable;
pub mod c02_linear_scaling;
pub mod c03_eventual_throughput;
pub mod c04_sql_bottleneck;
pub mod c05_availability;
pub mod c06_sql_consistency;
pub mod c07_convergence;
pub mod c08_strict_quorums;
pub mod c09_last_write_wins;
pub mod c10_durable;
pub mod c11_sql_transactions;
pub mod c12_forgo_transactions;
pub mod c13_replication_overhead;
pub mod c14_async_replication;
pub mod c15_write_concern;
pub mod fault_experiments;
pub mod scaling_sweep;
pub mod transactions;
