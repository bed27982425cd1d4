//! Rendering the measured rows: Markdown, CSV and JSON. Pure: rows in, text out; the caller
//! writes the files.

use std::fmt::Write as _;

use super::measure::Row;

const COLUMNS: [&str; 15] = [
    "engine",
    "setting",
    "sync call",
    "rows/commit",
    "threads",
    "writes",
    "seconds",
    "writes/s",
    "fsyncs/write",
    "device flushes/write",
    "bytes/write",
    "MB/s",
    "writes/fsync",
    "x baseline",
    "baseline",
];

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".to_owned(), |v| fixed(v, digits))
}

fn fixed(v: f64, digits: usize) -> String {
    format!("{v:.digits$}")
}

/// A rate without false precision: integers from 100 up.
fn rate(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

fn cells(row: &Row) -> [String; 15] {
    [
        row.engine.clone(),
        row.setting.clone(),
        row.sync_call.clone(),
        row.rows_per_commit.to_string(),
        row.threads.to_string(),
        row.writes.to_string(),
        fixed(row.seconds, 2),
        rate(row.writes_per_s),
        opt(row.fsyncs_per_write, 4),
        fixed(row.device_flushes_per_write, 4),
        fixed(row.bytes_per_write, 1),
        rate(row.mb_per_s),
        opt(row.writes_per_fsync, 1),
        opt(row.x_baseline, 2),
        row.baseline.clone().unwrap_or_else(|| "-".to_owned()),
    ]
}

/// A Markdown table (one line per row, notes left to the JSON and CSV).
pub fn markdown(rows: &[Row]) -> String {
    let mut out = format!("| {} |\n|{}\n", COLUMNS.join(" | "), " --- |".repeat(COLUMNS.len()));
    for row in rows {
        let cells: Vec<String> = cells(row).iter().map(|c| c.replace('|', "\\|")).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out
}

/// A quoted CSV field.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// CSV with a header line; full precision, plus the note.
pub fn csv(rows: &[Row]) -> String {
    let mut out = COLUMNS.iter().chain(&["note"]).map(|c| csv_field(c)).collect::<Vec<_>>().join(",");
    out.push('\n');
    for row in rows {
        let num = |v: Option<f64>| v.map_or_else(String::new, |v| v.to_string());
        let fields = [
            row.engine.clone(),
            row.setting.clone(),
            row.sync_call.clone(),
            row.rows_per_commit.to_string(),
            row.threads.to_string(),
            row.writes.to_string(),
            row.seconds.to_string(),
            row.writes_per_s.to_string(),
            num(row.fsyncs_per_write),
            row.device_flushes_per_write.to_string(),
            row.bytes_per_write.to_string(),
            row.mb_per_s.to_string(),
            num(row.writes_per_fsync),
            num(row.x_baseline),
            row.baseline.clone().unwrap_or_default(),
            row.note.clone(),
        ];
        out.push_str(&fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(setting: &str) -> Row {
        Row {
            engine: "lsm".into(),
            setting: setting.into(),
            sync_call: "fsync".into(),
            rows_per_commit: 1,
            threads: 8,
            writes: 1000,
            seconds: 2.0,
            writes_per_s: 500.0,
            fsyncs_per_write: Some(0.25),
            device_flushes_per_write: 0.5,
            bytes_per_write: 130.0,
            mb_per_s: 0.065,
            writes_per_fsync: Some(4.0),
            baseline: Some("raw 4 KiB append + fsync".into()),
            x_baseline: Some(1.5),
            note: "a, \"b\"".into(),
        }
    }

    #[test]
    fn markdown_has_a_line_per_row_and_every_column() {
        let md = markdown(&[row("group commit"), row("no sync")]);
        let lines: Vec<&str> = md.lines().collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[2], "| lsm | group commit | fsync | 1 | 8 | 1000 | 2.00 | 500 | 0.2500 | 0.5000 | 130.0 | 0.07 | 4.0 | 1.50 | raw 4 KiB append + fsync |");
        assert!(lines
            .iter()
            .all(|l| l.matches(" | ").count() == COLUMNS.len() - 1 || l.starts_with("|---") || l.starts_with("| ---")));
    }

    #[test]
    fn csv_quotes_and_keeps_precision() {
        let text = csv(&[row("x")]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("engine,setting,sync call,"));
        assert!(lines[1].ends_with(",raw 4 KiB append + fsync,\"a, \"\"b\"\"\""), "{}", lines[1]);
        assert!(lines[1].contains(",0.065,"));
    }
}
