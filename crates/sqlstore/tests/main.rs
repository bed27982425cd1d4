//! Integration tests: the SQL system inside turmoil simulations, driven directly (a server
//! host `db` and a client host issuing operations through [`sqlstore::SqlClient`]).

mod scenarios {
    mod bad_input;
    pub mod common;
    mod crash;
    mod determinism;
    mod disk_cost;
    mod disk_faults;
    mod locks;
    mod system;
}
