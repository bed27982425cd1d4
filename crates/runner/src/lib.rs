//! The lab's runner: runs experiments in the simulation, checks their histories, and writes
//! and reads what they measured.
//!
//! Map:
//! - [`options`]: the commands' options (the binary's `cli` embeds them).
//! - [`run`](mod@run): `lab run` of fault experiments (measure, record, table, output, merge,
//!   pictures); [`scaling`] and [`staleness`] run the other experiment kinds.
//! - [`plot`]: SVG plots, pure.
//! - [`check`], [`corpus`], [`input`]: `lab check` and `lab corpus` on histories
//!   from elsewhere (verdicts are explained by `experiment::explain`).
//! - [`simulate`]: `lab sim`, one simulation from the command line; [`bench`](mod@bench): `lab bench-sim`.
//! - [`experiment_check`]: `lab experiment check`.
//! - [`register_bench`]: `lab bench register-checker`, the linearizability checker on long
//!   register histories.
//! - [`txn_bench`]: `lab bench txn-checker`, the list-append checker on synthetic histories.

pub mod bench;
pub mod check;
pub mod corpus;
pub mod experiment_check;
pub mod input;
pub mod options;
pub mod output;
pub mod plot;

pub mod register_bench;
pub mod run;
pub mod scaling;
pub mod simulate;
pub mod staleness;
pub mod txn_bench;
