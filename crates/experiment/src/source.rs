//! The file being read: where each value sits, and errors that say so (`FILE:LINE:COL:
//! MESSAGE`).
//!
//! A file is parsed once into TOML's spanned document ([`Document`]); each part of the lab
//! takes its [`Section`] (the `[workload]` table, one `[[system]]` table, the rest of the file)
//! and deserializes it into its own raw serde struct, which refuses unknown fields and wrong
//! types at their position. Values are then validated with [`Source::fail`] at the spans the
//! raw structs kept ([`toml::Spanned`]).

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::Spanned;

use crate::value::parse_duration;

/// Why an experiment file was refused: where, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}:{column}: {message}", file.display())]
pub struct ExperimentError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// A value, or the error that names where the file is wrong.
pub type Checked<T> = Result<T, ExperimentError>;

/// The file being validated: turns spans into errors.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// The file.
    pub file: &'a Path,
    /// Its contents.
    pub text: &'a str,
}

impl<'a> Source<'a> {
    /// The file `file` whose contents are `text`.
    pub fn new(file: &'a Path, text: &'a str) -> Self {
        Self { file, text }
    }

    /// An error at `span`.
    pub fn error(&self, span: Range<usize>, message: impl Into<String>) -> ExperimentError {
        let (line, column) = line_column(self.text, span.start);
        ExperimentError { file: self.file.to_path_buf(), line, column, message: message.into() }
    }

    /// `Err` of an error at `span`.
    pub fn fail<T>(&self, span: Range<usize>, message: impl Into<String>) -> Checked<T> {
        Err(self.error(span, message))
    }

    /// The error at the end of the file (for something missing).
    pub fn at_end(&self, message: impl Into<String>) -> ExperimentError {
        self.error(self.text.len()..self.text.len(), message)
    }

    /// TOML's error, at its position (or at `fallback`, the value it was about, when serde
    /// gave none: an untagged enum's error has no span).
    fn toml_error_at(&self, error: &toml::de::Error, fallback: Range<usize>) -> ExperimentError {
        self.error(error.span().unwrap_or(fallback), error.message().trim_end().to_owned())
    }

    /// TOML's error, at its position.
    fn toml_error(&self, error: &toml::de::Error) -> ExperimentError {
        self.toml_error_at(error, 0..0)
    }

    /// The whole file, parsed into TOML's spanned document.
    pub fn document(&self) -> Checked<Document<'a>> {
        let table = DeTable::parse(self.text).map_err(|e| self.toml_error(&e))?;
        Ok(Document { root: Section { source: *self, span: table.span(), table: table.into_inner() } })
    }

    /// A duration (`"500ms"`, `"2s"`) longer than zero.
    pub fn duration(&self, value: &Spanned<String>, what: &str) -> Checked<Duration> {
        let parsed = parse_duration(value.get_ref()).map_err(|e| self.error(value.span(), format!("{what}: {e}")))?;
        if parsed.is_zero() {
            return self.fail(value.span(), format!("{what} must be longer than zero"));
        }
        Ok(parsed)
    }

    /// A duration longer than zero and at most `max`.
    pub fn duration_at_most(&self, value: &Spanned<String>, what: &str, max: Duration) -> Checked<Duration> {
        let parsed = self.duration(value, what)?;
        if parsed > max {
            return self.fail(value.span(), format!("{what}: at most {}", crate::value::seconds(max)));
        }
        Ok(parsed)
    }

    /// Refuses `field` when present: it does not apply to this `kind`.
    pub fn refuse<T>(&self, field: &Option<Spanned<T>>, name: &str, applies_to: &str) -> Checked<()> {
        match field {
            Some(value) => self.fail(value.span(), format!("`{name}` applies only to {applies_to}")),
            None => Ok(()),
        }
    }

    /// An integer from 1 to `max`.
    pub fn count<T: Copy + TryInto<u64>>(&self, value: &Spanned<T>, what: &str, max: u64) -> Checked<T> {
        let v: u64 = (*value.get_ref()).try_into().unwrap_or(u64::MAX);
        if v == 0 || v > max {
            return self.fail(value.span(), format!("{what} = {v}: expected 1 to {max}"));
        }
        Ok(*value.get_ref())
    }
}

/// A parsed file: its top-level table as a [`Section`].
#[derive(Debug)]
pub struct Document<'a> {
    /// The top-level table.
    pub root: Section<'a>,
}

/// A table of the file (the whole file, `[workload]`, one `[[system]]`), from which each part
/// of the lab takes the keys it owns; what remains is deserialized into a raw struct that
/// refuses unknown fields.
#[derive(Debug, Clone)]
pub struct Section<'a> {
    source: Source<'a>,
    span: Range<usize>,
    table: DeTable<'a>,
}

impl<'a> Section<'a> {
    /// The file.
    pub fn source(&self) -> Source<'a> {
        self.source
    }

    /// Where the table is.
    pub fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    /// Whether the table has `key`.
    pub fn has(&self, key: &str) -> bool {
        self.table.contains_key(key)
    }

    /// The keys left, with their spans, in file order.
    pub fn keys(&self) -> Vec<Spanned<String>> {
        let mut keys: Vec<Spanned<String>> =
            self.table.keys().map(|k| Spanned::new(k.span(), k.get_ref().to_string())).collect();
        keys.sort_by_key(|k| k.span().start);
        keys
    }

    /// Removes `key` and deserializes its value (`None` when absent).
    pub fn take<T: DeserializeOwned>(&mut self, key: &str) -> Checked<Option<T>> {
        let Some(value) = self.table.remove(key) else { return Ok(None) };
        let span = value.span();
        T::deserialize(ValueDeserializer::from(value)).map(Some).map_err(|e| self.source.toml_error_at(&e, span))
    }

    /// Removes `key`, which must be a table or an array of tables: each as a section.
    pub fn take_tables(&mut self, key: &str) -> Checked<Vec<Section<'a>>> {
        let Some(value) = self.table.remove(key) else { return Ok(Vec::new()) };
        let span = value.span();
        let tables = match value.into_inner() {
            DeValue::Table(table) => vec![Spanned::new(span.clone(), DeValue::Table(table))],
            DeValue::Array(items) => items.into_iter().collect(),
            _ => return self.source.fail(span, format!("`{key}`: expected a table")),
        };
        tables
            .into_iter()
            .map(|item| {
                let span = item.span();
                match item.into_inner() {
                    DeValue::Table(table) => Ok(Section { source: self.source, span, table }),
                    _ => self.source.fail(span, format!("`{key}`: expected a table")),
                }
            })
            .collect()
    }

    /// Removes `key` and returns it as the file has it: its spanned name and raw value.
    pub fn take_raw(&mut self, key: &str) -> Option<(Spanned<String>, Spanned<DeValue<'a>>)> {
        let (name, value) = self.table.remove_entry(key)?;
        Some((Spanned::new(name.span(), name.get_ref().to_string()), value))
    }

    /// Sets `key` to `value` (a value taken from elsewhere in the file keeps its span, so errors
    /// about it point there).
    pub fn insert(&mut self, key: &Spanned<String>, value: Spanned<DeValue<'a>>) {
        self.table.insert(Spanned::new(key.span(), std::borrow::Cow::Owned(key.get_ref().clone())), value);
    }

    /// Refuses `key` when present: it does not apply here (`why`).
    pub fn refuse(&self, key: &str, why: &str) -> Checked<()> {
        match self.table.get_key_value(key) {
            Some((found, _)) => self.source.fail(found.span(), format!("`{key}` {why}")),
            None => Ok(()),
        }
    }

    /// The rest of the table, into `T` (whose serde attributes refuse unknown fields).
    pub fn finish<T: DeserializeOwned>(self) -> Checked<T> {
        let value = Spanned::new(self.span.clone(), DeValue::Table(self.table));
        T::deserialize(ValueDeserializer::from(value)).map_err(|e| self.source.toml_error_at(&e, self.span.clone()))
    }
}

/// The field names a serde struct accepts (`T` must deserialize from a struct): what a table
/// may hold, for error messages that name the table a stray key belongs to.
pub fn fields_of<'de, T: serde::Deserialize<'de>>() -> &'static [&'static str] {
    /// A deserializer that only records the fields it is asked for.
    struct Probe<'a>(&'a mut &'static [&'static str]);
    impl<'de> serde::Deserializer<'de> for Probe<'_> {
        type Error = serde::de::value::Error;
        fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(serde::de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: serde::de::Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(serde::de::Error::custom("probed"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
            unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Probe(&mut fields));
    fields
}

/// A scalar as a label (`3`, `one`): strings without quotes, numbers and booleans as written;
/// `None` for arrays and tables.
pub fn scalar_label(value: &DeValue<'_>) -> Option<String> {
    match value {
        DeValue::String(text) => Some(text.to_string()),
        DeValue::Integer(integer) => Some(integer.to_string()),
        DeValue::Float(float) => Some(float.to_string()),
        DeValue::Boolean(flag) => Some(flag.to_string()),
        DeValue::Datetime(_) | DeValue::Array(_) | DeValue::Table(_) => None,
    }
}

/// The 1-based line and column (in characters) of byte `offset` of `text`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

impl fmt::Display for Source<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())
    }
}

#[cfg(test)]
mod tests {
    //! What the file's first reading refuses: unknown fields, wrong types, unknown names, missing
    //! fields, each at the line and column of the offending key or value.

    use std::path::Path;

    use crate::{Registry, Script};

    fn parse(file: &Path, text: &str) -> Result<Script, crate::ExperimentError> {
        crate::parse(&Registry::standard(), file, text)
    }

    const HEAD: &str = "name = \"t\"\nquestion = \"q\"\nseeds = 1\nduration = \"5s\"\n[workload]\nkind = \"set\"\n";
    const SYSTEM: &str = "[[system]]\nname = \"s\"\nkind = \"sqlite\"\n";

    fn assert_error(text: &str, line: usize, column: usize, needle: &str) {
        match parse(Path::new("dir/x.toml"), text) {
            Ok(_) => panic!("expected an error for:\n{text}"),
            Err(e) => {
                assert_eq!((e.line, e.column), (line, column), "position of: {e}");
                assert!(e.message.contains(needle), "`{}` should contain `{needle}`", e.message);
                assert!(e.to_string().starts_with(&format!("dir/x.toml:{line}:{column}: ")), "{e}");
            }
        }
    }

    #[test]
    fn the_head_and_a_system_parse() {
        assert!(parse(Path::new("x.toml"), &format!("{HEAD}{SYSTEM}")).is_ok());
    }

    #[test]
    fn unknown_fields_are_refused_at_their_key() {
        assert_error(&format!("title = \"x\"\n{HEAD}{SYSTEM}"), 1, 1, "unknown field `title`");
        assert_error(&format!("{HEAD}{SYSTEM}colour = 3\n"), 10, 1, "unknown field `colour`, expected one of");
        let fault = "[[fault]]\nat = \"1s\"\nkind = \"crash-all\"\nshape = \"ring\"\n";
        assert_error(&format!("{HEAD}{SYSTEM}{fault}"), 13, 1, "unknown field `shape`");
        assert_error(&format!("{HEAD}zipf = 1\n{SYSTEM}"), 7, 1, "unknown field `zipf`");
    }

    #[test]
    fn wrong_types_are_refused_at_their_value() {
        let nodes = "[[system]]\nname = \"q\"\nkind = \"quorum\"\nnodes = \"three\"\n";
        assert_error(&format!("{HEAD}{nodes}"), 10, 9, "invalid type: string \"three\", expected usize");
        assert_error(
            &format!("{}{SYSTEM}", HEAD.replace("seeds = 1", "seeds = \"many\"")),
            3,
            9,
            "expected a seed count",
        );
        assert_error(&format!("{}{SYSTEM}", HEAD.replace("seeds = 1", "seeds = -1")), 3, 9, "none negative");
        assert_error(&format!("{}{SYSTEM}", HEAD.replace("\"5s\"", "5")), 4, 12, "invalid type: integer");
        let offset = "[[fault]]\nat = \"1s\"\nkind = \"skew\"\nnode = \"db\"\noffset_ms = \"2s\"\n";
        assert_error(&format!("{HEAD}{SYSTEM}{offset}"), 14, 13, "invalid type: string");
    }

    #[test]
    fn unknown_names_list_what_is_expected() {
        let kind = "[[system]]\nname = \"m\"\nkind = \"mysql\"\n";
        assert_error(
            &format!("{HEAD}{kind}"),
            9,
            8,
            "unknown variant `mysql`, expected `sqlite`, `quorum` or `sqlite-raft`",
        );
        let commitlog = "[[system]]\nname = \"q\"\nkind = \"quorum\"\ncommitlog = { weekly = \"1s\" }\n";
        assert_error(&format!("{HEAD}{commitlog}"), 10, 15, "unknown variant `weekly`");
        assert_error(&format!("{}{SYSTEM}", HEAD.replace("\"set\"", "\"queue\"")), 6, 8, "unknown variant `queue`");
    }

    #[test]
    fn missing_fields_and_bad_syntax_are_refused() {
        assert_error(&format!("{}{SYSTEM}", HEAD.replace("name = \"t\"\n", "")), 1, 1, "missing field `name`");
        assert_error("name = \"t\"\nquestion = \n", 2, 12, "");
    }
}
