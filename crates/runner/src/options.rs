//! The options of the runner's commands, as clap parses them (the binary's `cli` embeds
//! them). Validation beyond what clap checks happens in the commands.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use experiment::value::parse_duration;

/// `lab run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Experiment files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Run only this seed, reproducing it exactly (results go to results/NAME/seed-S/).
    #[arg(long, conflicts_with = "seeds")]
    pub seed: Option<u64>,
    /// Run seeds 1..=N instead of the file's seeds.
    #[arg(long)]
    pub seeds: Option<u64>,
    /// Run the I-th of N deterministic shares of the seeds (1-based, e.g. 2/8); results go to
    /// results/NAME/shard-I-of-N/, to be combined by `lab merge`.
    #[arg(long, value_parser = parse_shard)]
    pub shard: Option<Shard>,
    /// Simulations run at once (default: the machine's cores).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Only these systems (names from the files, comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub system: Vec<String>,
    /// Where results go.
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    /// Wall time the checker may spend on one history before its verdict is `unknown`.
    #[arg(long, value_parser = parse_duration, default_value = "60s")]
    pub check_timeout: Duration,
    /// No progress line on stderr.
    #[arg(long)]
    pub quiet: bool,
}

/// `lab merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Shard result directories (results/NAME/shard-I-of-N), of one or more experiments.
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Where the merged results go (results/NAME/ under it).
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
}

/// One share of the seeds: number `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which share, 1 to `count`.
    pub index: usize,
    /// How many shares.
    pub count: usize,
}

/// Parses `I/N` with 1 <= I <= N.
pub fn parse_shard(text: &str) -> Result<Shard, String> {
    let (index, count) = text.split_once('/').ok_or_else(|| format!("`{text}`: expected I/N, e.g. 2/8"))?;
    let number = |s: &str| s.trim().parse::<usize>().map_err(|_| format!("`{text}`: expected I/N with whole numbers"));
    let (index, count) = (number(index)?, number(count)?);
    if count == 0 || index == 0 || index > count {
        return Err(format!("`{text}`: expected 1 <= I <= N"));
    }
    Ok(Shard { index, count })
}

/// `lab experiment check`.
#[derive(Debug, Args)]
pub struct ExperimentCheckArgs {
    /// Experiment files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// The sequential model a history is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModelArg {
    /// Pick from the functions used: get/put/append -> kv, cas -> cas-register, else register.
    Auto,
    /// Read/write register.
    Register,
    /// Read/write/compare-and-set register.
    CasRegister,
    /// Key-value store of strings: get/put/append, checked per key.
    Kv,
    /// Transactions of list appends and reads (Jepsen's list-append, `f = txn`): Elle-style
    /// isolation anomalies and the strongest isolation level the history may satisfy.
    ListAppend,
    /// Jepsen's bank: transfers and reads of balances; every read must sum to the same total
    /// and no balance may be negative.
    Bank,
}

impl ModelArg {
    /// True for the transactional models (checked by `checker::txn`, not for linearizability).
    pub fn is_transactional(self) -> bool {
        matches!(self, ModelArg::ListAppend | ModelArg::Bank)
    }
}

/// A history file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Decide by content.
    Auto,
    /// The lab's JSON Lines.
    Jsonl,
    /// Jepsen/Knossos EDN (a vector of maps, or one map per line).
    Edn,
    /// The jepsen.util log of the etcd corpus.
    EtcdLog,
}

/// `lab check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Model to check against.
    #[arg(long, value_enum, default_value = "auto")]
    pub model: ModelArg,
    /// Input format.
    #[arg(long, value_enum, default_value = "auto")]
    pub format: FormatArg,
    /// Give up on a file after this long (e.g. 500ms, 10s, 2m; a bare number is seconds).
    #[arg(long, value_parser = parse_duration, default_value = "60s")]
    pub timeout: Duration,
    /// Print one JSON object per file instead of text.
    #[arg(long)]
    pub json: bool,
    /// After each file's line, print the witness of a violation, or the linearization order.
    #[arg(long)]
    pub explain: bool,
    /// Worker threads for partitions (default: the machine's cores).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Memory limit for the search's memo (list-append: for what the check adds to the
    /// transactions read: version orders, edges, graph), in MiB.
    #[arg(long, default_value_t = 512)]
    pub memory_mib: usize,
    /// list-append: do not check the real-time order (look for serializability, not strict
    /// serializability).
    #[arg(long)]
    pub no_realtime: bool,
    /// bank: the total every read must sum to (default: the first ok read's sum).
    #[arg(long, allow_hyphen_values = true)]
    pub total: Option<i64>,
    /// Refuse a history file larger than this (bytes, or with a unit: 64KiB, 512MiB, 1GiB).
    #[arg(long, value_parser = parse_size, default_value = "1GiB")]
    pub max_input: u64,
    /// History files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// The default `--max-input`: 1 GiB.
pub const DEFAULT_MAX_INPUT: u64 = 1 << 30;

/// A size in bytes: a whole number, optionally followed by `B`, `KiB`, `MiB`, `GiB` (or `K`,
/// `M`, `G`, powers of 1024 too).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| format!("`{text}` is not a size (e.g. 1048576, 64KiB, 1GiB)"))?;
    let shift = match unit.trim() {
        "" | "B" => 0,
        "K" | "KiB" => 10,
        "M" | "MiB" => 20,
        "G" | "GiB" => 30,
        other => return Err(format!("`{other}` is not a size unit (B, KiB, MiB or GiB)")),
    };
    number.checked_mul(1 << shift).ok_or_else(|| format!("`{text}` is too large"))
}

/// `lab corpus`.
#[derive(Debug, Args)]
pub struct CorpusArgs {
    /// The corpus directory (holding verdicts.tsv).
    #[arg(default_value = "../shared/corpus/porcupine")]
    pub dir: PathBuf,
    /// Check every file this many times and report the median time.
    #[arg(long, default_value_t = 1)]
    pub repeat: usize,
    /// Give up on a file after this long.
    #[arg(long, value_parser = parse_duration, default_value = "60s")]
    pub timeout: Duration,
    /// Worker threads for partitions (default: the machine's cores).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Print the per-file table, not only the summary.
    #[arg(long)]
    pub verbose: bool,
}

/// `lab sim`.
#[derive(Debug, Args)]
pub struct SimArgs {
    /// The store, by its kind in experiment files (`sqlite`, `quorum`).
    #[arg(long, default_value = "sqlite")]
    pub system: String,
    /// A key of the store's `[[system]]` table, as experiment files write it: `--set nodes=5
    /// --set read=one --set 'commitlog={periodic="1s"}'` (a bare word is a string). Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// The workload, by its kind in experiment files (`register`, `kv`, `set`).
    #[arg(long, default_value = "register")]
    pub workload: String,
    /// A key of the `[workload]` table: `--with keys=100 --with 'distribution={zipf=1.0}'`.
    #[arg(long = "with", value_name = "KEY=VALUE")]
    pub with: Vec<String>,
    /// Seed: the run is a function of it.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Simulated time during which clients invoke operations.
    #[arg(long, default_value = "10s")]
    pub duration: String,
    /// Client hosts.
    #[arg(long, default_value_t = 2)]
    pub client_hosts: usize,
    /// Logical clients per client host.
    #[arg(long, default_value_t = 5)]
    pub clients_per_host: usize,
    /// Operation timeout (a timed-out operation is recorded as indeterminate).
    #[arg(long, default_value = "1s")]
    pub timeout: String,
    /// Cut the first server (`db`, `n1`) off from every other host during START..END (e.g.
    /// 1s..2s).
    #[arg(long, value_parser = crate::simulate::parse_window)]
    pub partition: Option<(Duration, Duration)>,
    /// Crash the first server at START and restart it at END (e.g. 3s..3.5s).
    #[arg(long, value_parser = crate::simulate::parse_window)]
    pub crash: Option<(Duration, Duration)>,
    /// Crash every server at START and restart them all at END.
    #[arg(long, value_parser = crate::simulate::parse_window)]
    pub crash_all: Option<(Duration, Duration)>,
    /// Set the second server's clock this many milliseconds off, from the start.
    #[arg(long, allow_hyphen_values = true)]
    pub skew_ms: Option<i64>,
    /// Model time one simulation step stands for (a whole divisor of 1ms, down to 1us):
    /// finer makes sub-millisecond disk costs visible in single operations and costs
    /// proportionally more steps (experiment files' `resolution`).
    #[arg(long, default_value = "1ms")]
    pub resolution: String,
    /// One-way network latency: `200us` (fixed) or `MIN..MAX` (experiment files' `latency`).
    #[arg(long, default_value = "1ms..10ms")]
    pub latency: String,
    /// Wall time the checker may spend before its verdict is `unknown`.
    #[arg(long, value_parser = parse_duration, default_value = "60s")]
    pub check_timeout: Duration,
    /// Write the history (JSON Lines, nemesis events included) to this file.
    #[arg(long)]
    pub history: Option<PathBuf>,
}

/// `lab bench-sim`.
#[derive(Debug, Args)]
pub struct BenchSimArgs {
    /// Seed of the store's run.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Simulated seconds of the store's run.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Round trips of the echo baseline (spread over 100 tasks).
    #[arg(long, default_value_t = 100_000)]
    pub echo_rpcs: usize,
    /// Runs of each measurement; medians are reported.
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Model time per simulation step, for the stores and the echo baseline alike (a whole
    /// divisor of 1ms; see `resolution` in experiment files).
    #[arg(long, value_parser = parse_duration, default_value = "1ms")]
    pub resolution: Duration,
}

/// `lab bench register-checker`.
#[derive(Debug, Args)]
pub struct BenchRegisterArgs {
    /// Operations in each synthetic history.
    #[arg(long, default_value_t = 1_000_000)]
    pub ops: usize,
    /// Concurrent clients of the second pair of histories (the first pair has one).
    #[arg(long, default_value_t = 10)]
    pub clients: usize,
    /// Seed of the generator.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// `lab bench txn-checker`.
#[derive(Debug, Args)]
pub struct BenchTxnArgs {
    /// Transactions in each synthetic history.
    #[arg(long, default_value_t = 100_000)]
    pub txns: usize,
    /// Concurrent client processes.
    #[arg(long, default_value_t = 20)]
    pub processes: usize,
    /// Keys, chosen uniformly.
    #[arg(long, default_value_t = 1000)]
    pub keys: usize,
    /// Seed of the generator.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_units_and_refuse_the_rest() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("64KiB"), Ok(64 << 10));
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("1GiB"), Ok(DEFAULT_MAX_INPUT));
        assert!(matches!(parse_size("1TB"), Err(e) if e.contains("not a size unit")));
        assert!(matches!(parse_size("lots"), Err(e) if e.contains("not a size")));
        assert!(parse_size("99999999999999999999GiB").is_err());
        assert!(matches!(parse_size("17179869184G"), Err(e) if e.contains("too large")));
    }

    #[test]
    fn shards_parse() {
        assert_eq!(parse_shard("2/8"), Ok(Shard { index: 2, count: 8 }));
        assert!(parse_shard("0/8").is_err());
        assert!(parse_shard("9/8").is_err());
        assert!(parse_shard("1/0").is_err());
        assert!(parse_shard("1-2").is_err());
    }
}
