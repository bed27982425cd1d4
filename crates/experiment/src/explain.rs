//! Rendering verdicts for people: witness tables and linearization orders. Pure: returns
//! strings; the caller writes them.

use checker::{key_label, OpSummary, PartitionResult, Verdict, Witness};
use history::History;
use tabled::settings::Style;
use tabled::{Table, Tabled};

/// How many operations of the prefix a witness shows before the blocked one.
const PREFIX_SHOWN: usize = 5;

#[derive(Tabled)]
struct OpRow {
    #[tabled(rename = "role")]
    role: String,
    #[tabled(rename = "process")]
    process: String,
    #[tabled(rename = "operation")]
    operation: String,
    #[tabled(rename = "result")]
    result: String,
    #[tabled(rename = "invoked (line)")]
    invoked: String,
    #[tabled(rename = "completed (line)")]
    completed: String,
}

fn line_of(history: &History, event: usize) -> String {
    history.lines.get(event).map_or_else(|| "?".to_owned(), ToString::to_string)
}

fn row(role: &str, op: &OpSummary, history: &History) -> OpRow {
    OpRow {
        role: role.to_owned(),
        process: op.process.to_string(),
        operation: if op.input.is_nil() { op.f.to_string() } else { format!("{} {}", op.f, op.input) },
        result: op.output.as_ref().map_or_else(|| "unknown (info)".to_owned(), ToString::to_string),
        invoked: line_of(history, op.call_event),
        completed: op.return_event.map_or_else(|| "-".to_owned(), |e| line_of(history, e)),
    }
}

/// The witness of a violation, as an indented paragraph and table.
pub fn witness(key: &str, witness: &Witness, history: &History) -> String {
    let mut rows = Vec::new();
    let skipped = witness.prefix.len().saturating_sub(PREFIX_SHOWN);
    for (i, op) in witness.prefix.iter().enumerate().skip(skipped) {
        rows.push(row(&format!("prefix #{}", i + 1), op, history));
    }
    rows.push(row("CANNOT BE PLACED", &witness.blocked, history));
    for op in &witness.concurrent {
        rows.push(row("concurrent", op, history));
    }
    let mut table = Table::new(rows);
    table.with(Style::sharp());
    let mut out = format!(
        "  partition {key}: the longest linearizable prefix found holds {} operations (state after it: {}).\n  \
         After that prefix, the operation marked CANNOT BE PLACED cannot take effect before it returns,\n  \
         whichever of the operations concurrent with it go first.\n",
        witness.prefix.len(),
        witness.state_after_prefix
    );
    if skipped > 0 {
        out.push_str(&format!("  (the first {skipped} operations of the prefix are not shown)\n"));
    }
    for line in table.to_string().lines() {
        out.push_str("  ");
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The explanation of a verdict: the first violation's witness, or every partition's order.
pub fn explain(verdict: &Verdict, history: &History) -> String {
    if let Some((partition, w)) = verdict.violation() {
        return witness(&key_label(&partition.key), w, history);
    }
    let mut out = String::new();
    for partition in &verdict.partitions {
        let key = key_label(&partition.key);
        match &partition.result {
            PartitionResult::Linearizable(order) => {
                out.push_str(&format!("  partition {key}: linearizable in this order:\n"));
                for (i, op) in order.iter().enumerate() {
                    let result = op.output.as_ref().map_or_else(|| "unknown".to_owned(), ToString::to_string);
                    out.push_str(&format!(
                        "    {:>4}. process {} {} {} -> {} (line {})\n",
                        i + 1,
                        op.process,
                        op.f,
                        op.input,
                        result,
                        line_of(history, op.call_event)
                    ));
                }
            }
            PartitionResult::Unknown => out.push_str(&format!("  partition {key}: unknown (deadline passed)\n")),
            PartitionResult::Skipped => out.push_str(&format!("  partition {key}: not checked\n")),
            PartitionResult::Illegal(_) => {}
        }
    }
    out
}

/// A verdict's witness as JSON.
pub fn witness_json(key: &str, w: &Witness, history: &History) -> serde_json::Value {
    let op = |op: &OpSummary| {
        serde_json::json!({
            "process": op.process,
            "f": op.f,
            "input": op.input,
            "output": op.output,
            "invoke_line": history.lines.get(op.call_event),
            "complete_line": op.return_event.and_then(|e| history.lines.get(e)),
        })
    };
    serde_json::json!({
        "partition": key,
        "prefix_length": w.prefix.len(),
        "prefix": w.prefix.iter().map(op).collect::<Vec<_>>(),
        "state_after_prefix": w.state_after_prefix,
        "blocked": op(&w.blocked),
        "concurrent": w.concurrent.iter().map(op).collect::<Vec<_>>(),
    })
}
