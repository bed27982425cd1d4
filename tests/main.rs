//! Integration tests of the lab: the checker against the corpus and a brute-force oracle, the
//! registry's seam (an example store and workload),
//! and the `lab` command line.

mod claims;
mod claims_inputs;
mod cli;
mod corpus;
mod durability;
mod experiments;
mod fault_tolerance;
mod fuzz;
mod limits;
mod lwt;
mod oracle;
mod quorum;
mod quorum_net;
mod registry;
mod repair;
mod scaling;
mod sql;
mod staleness;
mod support;
mod transactions;
mod txn_check;
