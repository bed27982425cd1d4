//! Integration tests: the engine on turmoil's simulated disk, inside simulations driven
//! directly (a host or client named `node` runs the engine; the test's step loop crashes and
//! restarts it).

mod scenarios {
    pub mod common;
    mod corruption;
    mod crash;
    mod disk_faults;
    mod disk_work;
    mod model;
    mod torn_tail;
    mod versions;
}
