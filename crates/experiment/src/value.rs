//! Value types shared by every experiment-file kind and by the command line: durations,
//! times as seconds, names that name files.

use std::time::Duration;

/// Longest experiment or system name.
pub const MAX_NAME: usize = 100;

/// Whether `name` can name a file or directory on every platform: 1 to [`MAX_NAME`] ASCII
/// letters, digits, `.`, `_` or `-`, and not `.` or `..`.
pub fn is_file_name(name: &str) -> bool {
    (1..=MAX_NAME).contains(&name.len())
        && name != "."
        && name != ".."
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// A time as seconds with up to three decimals (`3s`, `2.5s`).
pub fn seconds(at: Duration) -> String {
    let text = format!("{:.3}", at.as_secs_f64());
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}s")
}

/// Parses `500ms`, `10s`, `2m`, `1h` or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().map_err(|_| {
        format!("`{text}` is not a duration: expected a number with an optional unit (us, ms, s, m, h)")
    })?;
    let nanos_per_unit = match unit {
        "us" => 1e3,
        "ms" => 1e6,
        "" | "s" => 1e9,
        "m" => 60e9,
        "h" => 3600e9,
        other => return Err(format!("unknown duration unit `{other}` (expected us, ms, s, m or h)")),
    };
    // Whole nanoseconds, rounded: `5us` is exactly 5,000 ns (not 4,999 from a binary fraction).
    let nanos = (value * nanos_per_unit).round();
    if !nanos.is_finite() || nanos >= u64::MAX as f64 {
        return Err(format!("`{text}`: too long"));
    }
    Ok(Duration::from_nanos(nanos as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("5us"), Ok(Duration::from_micros(5)));
        assert_eq!(parse_duration("0.1ms"), Ok(Duration::from_micros(100)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("1e30h").is_err());
        assert!(parse_duration("10 parsecs").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("ms").is_err());
    }
}
