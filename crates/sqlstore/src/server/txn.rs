//! A request's transaction on one of several database connections, statement by statement,
//! holding SQLite's locks across simulated time (see the [`super`] module docs).
//!
//! The sequence, for one request:
//! 1. the frame's NIC receive time; then wait for a free database connection (FIFO);
//! 2. `BEGIN` as configured ([`crate::BeginMode`]), then each step of the operation's plan (a
//!    statement, or a list-append micro-operation), each followed by its share of the
//!    request's CPU time on the host's CPU timeline;
//! 3. `COMMIT` (or, after a failure, `ROLLBACK`); its disk time (the commit's syncs) is
//!    charged on the host's disk timeline while the locks the connection released stay
//!    visible to the others ([`Store::hold_locks`]), and only then released.
//!
//! `SQLITE_BUSY` on any call is retried after SQLite's busy-handler delays, in simulated
//! time, while [`crate::busy::retries`] says SQLite itself would wait and the busy timeout
//! allows; otherwise the transaction is rolled back: [`StoreError::Busy`] or
//! [`StoreError::Deadlock`], definite failures (nothing was committed). What any other
//! failure means is [`Store::abort`]'s business, as for one connection.

use std::time::Duration;

use tokio::time::Instant;

use super::{access, failure, plan_of, statements, Shared, RESTARTING};
use crate::busy::{self, BusyWait, Call};
use crate::store::{Access, Flow, Plan, Store, StoreError};
use crate::wire::{Failure, Request, Response};
use history::Value;

impl Shared {
    /// [`Shared::handle`] with several database connections, past admission: see the module
    /// docs. Returns the reply and when it is due.
    pub(super) async fn handle_pooled(&self, request: Request, bytes: usize, now: Instant) -> (Response, Instant) {
        let id = request.id;
        let restarting = || (Response { id, result: Err(Failure::Storage(RESTARTING.to_owned())) }, Instant::now());
        let (rx, cpu) = (self.model.network.nic_time(bytes), self.cpu.charge(bytes));
        self.record(|u| {
            u.nic_rx = u.nic_rx.saturating_add(rx);
            u.cpu = u.cpu.saturating_add(cpu);
        });
        if !rx.is_zero() {
            let received = self.booked(|clock| clock.book_received(now, rx, Duration::ZERO, Duration::ZERO));
            self.until(received).await;
        }
        let plan = match plan_of(&request.op) {
            Ok(plan) => plan,
            Err(refused) => return (Response { id, result: Err(refused) }, Instant::now()),
        };
        let Ok(permit) = self.permits.acquire().await else {
            return restarting();
        };
        let Some(mut store) = self.stores.borrow_mut().pop_front() else {
            return restarting();
        };
        if self.dead.get() {
            self.stores.borrow_mut().push_back(store);
            return restarting();
        }
        let access = access(&request.op);
        let statements = statements(&request.op);
        let mut result = self.transact(&mut store, access, plan, statements, cpu).await.map_err(failure);
        if store.needs_restart() {
            result = Err(Failure::Storage(RESTARTING.to_owned()));
            self.fail();
        }
        self.stores.borrow_mut().push_back(store);
        drop(permit);
        (Response { id, result }, Instant::now())
    }

    /// Runs `plan` in one transaction on `store` (see the module docs), its CPU time `cpu`
    /// shared between its `statements` steps.
    async fn transact(
        &self,
        store: &mut Store,
        access: Access,
        mut plan: Plan,
        statements: usize,
        cpu: Duration,
    ) -> Result<Value, StoreError> {
        let share = cpu / u32::try_from(statements.max(1)).unwrap_or(u32::MAX);
        let mut spent = Duration::ZERO;
        let outcome = self.run_steps(store, access, &mut plan, share, &mut spent).await;
        // What is left of the request's CPU time (a plan that ended early), locks still held.
        self.spend_cpu(cpu.saturating_sub(spent)).await;
        store.hold_locks();
        let ended = match outcome {
            Ok(out) => match self.locked(store, Call::Commit, Store::commit).await {
                Ok(()) => Ok(out),
                Err(error) => Err(store.abort(error)),
            },
            Err(error) => Err(store.abort(error)),
        };
        self.charge_disk(store).await;
        store.release_locks();
        ended
    }

    /// `BEGIN`, then the plan's steps, each followed by `share` of CPU time.
    async fn run_steps(
        &self,
        store: &mut Store,
        access: Access,
        plan: &mut Plan,
        share: Duration,
        spent: &mut Duration,
    ) -> Result<Value, StoreError> {
        self.locked(store, Call::Begin, |store| store.begin(access)).await?;
        let mut index = 0;
        loop {
            let flow = self.locked(store, Call::Step, |store| store.step(&mut *plan, index)).await?;
            self.spend_cpu(share).await;
            *spent = spent.saturating_add(share);
            match flow {
                Flow::Done(out) => return Ok(out),
                Flow::Next => index += 1,
            }
        }
    }

    /// Runs `f` (one SQLite call of a transaction), retrying `SQLITE_BUSY` as SQLite's busy
    /// handler would, in simulated time (see the module docs).
    async fn locked<T>(
        &self,
        store: &mut Store,
        call: Call,
        mut f: impl FnMut(&mut Store) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut wait = BusyWait::new(self.busy_timeout);
        loop {
            match f(store) {
                Err(error) if error.is_busy() => {
                    let stats = &self.model.busy;
                    if !busy::retries(call, store.lock_held()) {
                        stats.deadlocks.set(stats.deadlocks.get().saturating_add(1));
                        return Err(StoreError::Deadlock);
                    }
                    let Some(delay) = wait.next_delay() else {
                        stats.timeouts.set(stats.timeouts.get().saturating_add(1));
                        return Err(match error {
                            StoreError::Sqlite(source) => StoreError::Busy { source: Some(source) },
                            other => other,
                        });
                    };
                    stats.retries.set(stats.retries.get().saturating_add(1));
                    sim::time::sleep(delay).await;
                }
                other => return other,
            }
        }
    }

    /// Spends `cpu` on the host's CPU timeline, from now.
    async fn spend_cpu(&self, cpu: Duration) {
        if cpu.is_zero() {
            return;
        }
        let done = self.booked(|clock| clock.book(Instant::now(), cpu, Duration::ZERO));
        self.until(done).await;
    }

    /// Charges the disk work `store` did since the last charge on the host's disk timeline,
    /// from now, and waits until it is done.
    async fn charge_disk(&self, store: &Store) {
        let (work, kinds) = (store.take_disk_work(), store.disk_io().take_sync_kinds());
        self.model.syncs.set(self.model.syncs.get().saturating_add(work.syncs));
        let disk = self.cost.charge_drawn(work, kinds, &mut self.draws.borrow_mut());
        self.record(|u| u.disk = u.disk.saturating_add(disk));
        let done = self.booked(|clock| clock.book_disk(Instant::now(), disk));
        self.until(done).await;
    }

    /// Books on the host's clock.
    fn booked(&self, book: impl FnOnce(&mut sim::capacity::NodeClock) -> Option<Instant>) -> Option<Instant> {
        let mut clock = self.clock.get();
        let done = book(&mut clock);
        self.clock.set(clock);
        done
    }

    /// Sleeps until `done` (`None` or past: not at all).
    async fn until(&self, done: Option<Instant>) {
        if let Some(done) = done.filter(|&done| done > Instant::now()) {
            tokio::time::sleep_until(done).await;
        }
    }
}
