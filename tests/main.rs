//! Integration tests of the lab: the checker against the corpus and a brute-force oracle,
//! and the `lab` command line.

mod claims;
mod cli;
mod corpus;
mod experiments;
mod fault_tolerance;
mod oracle;
mod quorum;
mod quorum_net;
mod scaling;
mod sql;
mod staleness;
mod support;
