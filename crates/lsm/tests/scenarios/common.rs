//! Shared set-up: deterministic simulations, a last-write-wins model, running code inside a
//! host, and the crash harness (a host executing a script of steps while the test's step loop
//! crashes and restarts it).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::error::Error;
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};

use history::Value;
use lsm::{Cell, Engine, EngineConfig, RecoveryReport, Stats, Version};

/// A test's error type (what turmoil hosts return).
pub type TestResult<T = ()> = Result<T, Box<dyn Error>>;

/// The reference: key to winning cell.
pub type Model = BTreeMap<String, Cell>;

/// The directory every test engine lives in.
pub const DIR: &str = "/data/lsm";

/// A builder with a fixed seed and epoch (both needed for determinism) and a long limit.
pub fn builder(seed: u64) -> turmoil::Builder {
    let mut builder = turmoil::Builder::new();
    builder
        .rng_seed(seed)
        .epoch(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        .simulation_duration(Duration::from_secs(3_600));
    builder
}

/// Opens the engine on turmoil's simulated disk (inside a host).
pub fn open(config: EngineConfig) -> Result<Engine, lsm::EngineError> {
    Engine::open_on(config, Box::new(sim::fs::SimFs))
}

/// An engine configuration in [`DIR`].
pub fn config(memtable_bytes: usize, max_sstables: usize) -> EngineConfig {
    EngineConfig { dir: DIR.into(), memtable_bytes, max_sstables }
}

/// A cell holding an integer.
pub fn cell(value: i64, timestamp: u64, node: u32) -> Cell {
    Cell::new(Value::Int(value), Version::new(timestamp, node))
}

/// The model's last-write-wins rule, written independently of the engine's: the higher
/// (version, value) pair wins.
pub fn model_apply(model: &mut Model, key: &str, cell: &Cell) {
    let wins = match model.get(key) {
        None => true,
        Some(old) => (cell.version, &cell.value) > (old.version, &old.value),
    };
    if wins {
        model.insert(key.to_owned(), cell.clone());
    }
}

/// Runs `f` synchronously inside a client host `node` of a fresh simulation (the simulated
/// disk needs a host) and returns what it returned.
pub fn in_host<T: 'static>(seed: u64, f: impl FnOnce() -> TestResult<T> + 'static) -> TestResult<T> {
    in_sim(builder(seed).build(), f)
}

/// [`in_host`] in a given simulation.
pub fn in_sim<T: 'static>(mut sim: turmoil::Sim<'_>, f: impl FnOnce() -> TestResult<T> + 'static) -> TestResult<T> {
    let out: Rc<RefCell<Option<TestResult<T>>>> = Rc::new(RefCell::new(None));
    let slot = Rc::clone(&out);
    sim.client("node", async move {
        *slot.borrow_mut() = Some(f());
        Ok(())
    });
    sim.run()?;
    let result = out.borrow_mut().take();
    result.unwrap_or_else(|| Err("the host never ran".into()))
}

/// The engine's whole content as a model.
pub fn contents(engine: &Engine) -> TestResult<Model> {
    Ok(engine.scan()?.into_iter().collect())
}

/// One step of a crash-harness script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `Engine::write`.
    Write(String, Cell),
    /// `Engine::sync`.
    Sync,
    /// `Engine::flush`.
    Flush,
    /// `Engine::compact`.
    Compact,
    /// `Engine::fail_disk_after(Some(n))`: a later step fails part-way; the rest of the
    /// script is skipped.
    FailDiskAfter(u64),
}

/// A fault the step loop applies once the script has run this many steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `Sim::crash` (unsynced writes lost) then `Sim::bounce`.
    Crash,
    /// `Sim::bounce` alone (a process restart: unsynced writes kept).
    Bounce,
}

/// What one start of the host found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Start {
    /// Script steps executed before this start.
    pub at_step: usize,
    /// Whether the previous run ended in a crash.
    pub after_crash: bool,
    /// Writes covered by a sync or flush before the restart.
    pub durable: Model,
    /// Later writes, in order.
    pub unsynced: Vec<(String, Cell)>,
    /// What the engine held after opening.
    pub recovered: Model,
    /// The open's report.
    pub report: RecoveryReport,
}

impl Start {
    /// `durable` plus the first `n` unsynced writes.
    pub fn prefix(&self, n: usize) -> Model {
        let mut model = self.durable.clone();
        for (key, cell) in &self.unsynced[..n] {
            model_apply(&mut model, key, cell);
        }
        model
    }

    /// How many unsynced writes survived, if the recovered state is a prefix of the writes.
    pub fn surviving_prefix(&self) -> Option<usize> {
        (0..=self.unsynced.len()).find(|&n| self.prefix(n) == self.recovered)
    }

    /// Whether an unsynced write changed the state (so losing it is observable).
    pub fn lost_something_observable(&self) -> bool {
        self.prefix(self.unsynced.len()) != self.durable
    }
}

/// The state shared by the host and the step loop.
#[derive(Debug, Default)]
pub struct NodeState {
    /// Script steps executed.
    pub next: usize,
    /// Writes covered by a sync or flush.
    pub durable: Model,
    /// Writes since, in order.
    pub unsynced: Vec<(String, Cell)>,
    /// Set by the step loop just before a crash.
    pub crashing: bool,
    /// Every start.
    pub starts: Vec<Start>,
    /// Flushes and compactions over all runs.
    pub flushes: u64,
    /// See `flushes`.
    pub compactions: u64,
    /// Stats after the last step.
    pub stats: Stats,
    /// After the script: the content and point reads agreed with the model.
    pub final_check: Option<Result<(), String>>,
    /// Whether a disk failure was injected in the current run.
    pub injected: bool,
    /// The injected failures that struck, by step.
    pub failures: Vec<(usize, String)>,
}

impl NodeState {
    fn everything(&self) -> Model {
        let mut model = self.durable.clone();
        for (key, cell) in &self.unsynced {
            model_apply(&mut model, key, cell);
        }
        model
    }

    fn all_durable(&mut self) {
        self.durable = self.everything();
        self.unsynced.clear();
    }
}

/// Registers host `node`: on every start it opens the engine, records a [`Start`], then
/// executes the rest of `script`, one step per millisecond of simulated time.
pub fn node_host(
    sim: &mut turmoil::Sim<'_>,
    config: EngineConfig,
    script: Rc<Vec<Step>>,
    state: Rc<RefCell<NodeState>>,
) {
    sim.host("node", move || {
        let (config, script, state) = (config.clone(), Rc::clone(&script), Rc::clone(&state));
        async move {
            let mut engine = open(config)?;
            record_start(&engine, &state)?;
            loop {
                let step = {
                    let s = state.borrow();
                    match script.get(s.next) {
                        Some(step) => step.clone(),
                        None => break,
                    }
                };
                if let Err(e) = execute(&mut engine, &step, &state) {
                    let mut s = state.borrow_mut();
                    if !s.injected {
                        return Err(e);
                    }
                    // The "process died" here: skip the rest; the step loop crashes the host.
                    let at = s.next;
                    s.failures.push((at, e.to_string()));
                    s.next = script.len();
                    break;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            let check = final_check(&engine, &state.borrow().everything());
            state.borrow_mut().final_check = Some(check);
            std::future::pending::<()>().await;
            Ok(())
        }
    });
}

fn record_start(engine: &Engine, state: &RefCell<NodeState>) -> TestResult {
    let recovered = contents(engine)?;
    let mut s = state.borrow_mut();
    let start = Start {
        at_step: s.next,
        after_crash: s.crashing,
        durable: s.durable.clone(),
        unsynced: s.unsynced.clone(),
        recovered: recovered.clone(),
        report: engine.recovery().clone(),
    };
    s.starts.push(start);
    // Opening syncs what it replayed: everything recovered is durable now.
    s.durable = recovered;
    s.unsynced.clear();
    s.crashing = false;
    s.injected = false;
    Ok(())
}

fn execute(engine: &mut Engine, step: &Step, state: &RefCell<NodeState>) -> TestResult {
    let before = engine.stats();
    match step {
        Step::Write(key, cell) => engine.write(key, cell.clone())?,
        Step::Sync => engine.sync()?,
        Step::Flush => engine.flush()?,
        Step::Compact => engine.compact()?,
        Step::FailDiskAfter(n) => {
            engine.fail_disk_after(Some(*n));
            state.borrow_mut().injected = true;
        }
    }
    let after = engine.stats();
    let mut s = state.borrow_mut();
    if let Step::Write(key, cell) = step {
        s.unsynced.push((key.clone(), cell.clone()));
    }
    // A sync covers every earlier write; so does a flush, explicit or triggered by a write.
    if matches!(step, Step::Sync | Step::Flush) || after.flushes > before.flushes {
        s.all_durable();
    }
    s.flushes += after.flushes - before.flushes;
    s.compactions += after.compactions - before.compactions;
    s.stats = after;
    s.next += 1;
    Ok(())
}

fn final_check(engine: &Engine, expected: &Model) -> Result<(), String> {
    let scanned = contents(engine).map_err(|e| e.to_string())?;
    if &scanned != expected {
        return Err(format!("scan {scanned:?} != model {expected:?}"));
    }
    for (key, cell) in expected {
        let got = engine.get(key).map_err(|e| e.to_string())?;
        if got.as_ref() != Some(cell) {
            return Err(format!("get {key}: {got:?} != {cell:?}"));
        }
    }
    Ok(())
}

/// Runs `script` on host `node` with `faults` applied once the script has executed the given
/// number of steps; returns the shared state at the end.
pub fn run_script(
    mut sim: turmoil::Sim<'_>,
    config: EngineConfig,
    script: Vec<Step>,
    faults: &[(usize, Fault)],
) -> TestResult<NodeState> {
    let state = Rc::new(RefCell::new(NodeState::default()));
    let script_len = script.len();
    let steps_max = 10 * (script_len + 10) * (faults.len() + 1);
    node_host(&mut sim, config, Rc::new(script), Rc::clone(&state));
    let mut faults: Vec<(usize, Fault)> = faults.iter().map(|&(at, fault)| (at.min(script_len), fault)).collect();
    faults.sort_by_key(|&(at, _)| at);
    let mut faults = faults.into_iter().peekable();
    for _ in 0..steps_max {
        sim.step()?;
        let next = state.borrow().next;
        if let Some(&(_, fault)) = faults.peek().filter(|&&(at, _)| next >= at) {
            faults.next();
            state.borrow_mut().final_check = None;
            if fault == Fault::Crash {
                state.borrow_mut().crashing = true;
                sim.crash("node");
            }
            sim.bounce("node");
            continue;
        }
        if faults.peek().is_none() && state.borrow().final_check.is_some() {
            let finished = std::mem::take(&mut *state.borrow_mut());
            return Ok(finished);
        }
    }
    Err(format!("the script did not finish within {steps_max} steps").into())
}

/// A small deterministic generator (SplitMix64) for scripted tests.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// A script of `writes` writes over `keys` keys with increasing timestamps (some writes
/// reuse an old timestamp, so they lose), a sync after roughly one write in `sync_every`,
/// and, with `value_bytes > 0`, string values that fill memtables fast.
pub fn random_script(seed: u64, writes: usize, keys: u64, sync_every: u64, value_bytes: usize) -> Vec<Step> {
    let mut rng = Rng(seed);
    let mut script = Vec::new();
    for i in 0..writes as u64 {
        let key = format!("key{:02}", rng.below(keys));
        let timestamp = if rng.below(5) == 0 { rng.below(i + 1) } else { i + 1 };
        let value = if value_bytes > 0 {
            Value::Str(format!("{i:0width$}", width = value_bytes))
        } else {
            Value::Int(i64::try_from(i).unwrap_or(i64::MAX))
        };
        let node = u32::try_from(rng.below(3)).unwrap_or(0);
        script.push(Step::Write(key, Cell::new(value, Version::new(timestamp, node))));
        if rng.below(sync_every) == 0 {
            script.push(Step::Sync);
        }
    }
    script
}
