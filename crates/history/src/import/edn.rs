//! Jepsen/Knossos EDN histories.
//!
//! Two shapes are accepted:
//!
//! - one top-level vector (or list) of event maps, as Jepsen's `history.edn` and Knossos'
//!   test data write it, on one line or many:
//!   `[{:process 0, :type :invoke, :f :cas, :value [1 2]} {:process 0, :type :ok, ...}]`
//! - a stream of top-level event maps, usually one per line (Porcupine's kv corpus):
//!   `{:process 0, :type :invoke, :f :append, :key "0", :value "x 0 0 y"}`
//!
//! Event maps are read as follows (keys are keywords; every other key, such as `:error` or
//! `:node`, is ignored, which is what Jepsen's many extra keys need):
//!
//! - `:process` (required): an integer >= 0 is a client ([`Process::Client`]); a keyword,
//!   symbol or non-empty string such as `:nemesis` is a named actor ([`Process::Named`]).
//! - `:type` (required): `:invoke`, `:ok`, `:fail` or `:info`.
//! - `:f` (required): a keyword, symbol or string; `:cas` becomes `"cas"`.
//! - `:value` (optional, default `nil`): a [`Value`]: `nil`, booleans, integers, strings,
//!   keywords and symbols (as strings, without the colon), and vectors or lists of those. A map
//!   becomes a list of two-element `[key value]` lists in source order: Jepsen's bank writes
//!   `{:from 1, :to 2, :amount 5}`, read here as `[["from" 1] ["to" 2] ["amount" 5]]`.
//! - `:key` (optional): a [`Value`] as for `:value` but never a map; `nil` means no key.
//! - `:time` (optional): an integer >= 0 (nanoseconds), or `nil`.
//! - `:index` (optional): an integer >= 0, or `nil`.
//!
//! The reader is a small hand-written EDN reader: commas are whitespace, `;` starts a comment,
//! `#_` discards the next form, `#{...}` is a set and `#tag form` a tagged literal. Sets,
//! floats, characters and tagged literals (and maps outside `:value`) are read, but refused
//! with an error if they reach a field that the history uses. Every error names the 1-based
//! line and column (in characters) at fault.

use crate::stream::StreamError;
use crate::{Event, EventType, History, ParseError, Process, Value};

/// Deeper nesting than this is refused (it keeps the recursive reader off the stack's edge).
const MAX_DEPTH: usize = 128;

/// What a history's event maps look like, for error messages.
const EVENT_MAP: &str = "an event map {:process ..., :type ..., :f ...}";

/// What a [`Value`] may be, for error messages.
const VALUE_SHAPES: &str = "nil, a boolean, an integer, a string, a keyword or a vector or map of those";

/// Parses a Jepsen/Knossos EDN history: one vector of event maps, or a sequence of event maps.
///
/// Each event records the line of its opening `{`. An empty text (or one holding only
/// whitespace and comments) is an empty history.
pub fn parse(text: &str) -> Result<History, ParseError> {
    crate::stream::read_history(text, crate::Format::Edn)
}

/// Reads an EDN history from `chars`, handing each event and the line of its opening `{` to
/// `sink` as soon as its map is read: a top-level vector (or list) is read one element at a
/// time, never whole, so a long history never becomes one tree of forms.
pub(crate) fn read_events<E>(
    chars: impl Iterator<Item = char>,
    mut sink: impl FnMut(Event, usize) -> Result<(), E>,
) -> Result<(), StreamError<E>> {
    let mut chars = chars.peekable();
    if chars.peek() == Some(&'\u{feff}') {
        chars.next();
    }
    let mut reader = Reader::new(chars, 1, 1, false);
    let mut emit =
        |node: &Node| -> Result<(), StreamError<E>> { sink(event_of(node)?, node.pos.line).map_err(StreamError::Sink) };
    reader.skip_ws();
    if let Some(open @ ('[' | '(')) = reader.peek() {
        let coll = if open == '[' { Coll::Vector } else { Coll::List };
        let kind = coll.name();
        let pos = reader.pos();
        reader.bump();
        reader.open.push((coll, pos));
        loop {
            reader.skip_ws();
            match reader.peek() {
                None => {
                    reader.open.pop();
                    return Err(reader.unterminated(kind, pos, coll.close()).into());
                }
                Some(c) if c == coll.close() => {
                    reader.bump();
                    break;
                }
                Some(c) if is_closer(c) => {
                    return Err(reader
                        .error_here(format!(
                            "unexpected `{c}`: expected `{}` to close the {kind} opened at line {}, column {}",
                            coll.close(),
                            pos.line,
                            pos.column
                        ))
                        .into());
                }
                Some(_) => {
                    let Some(item) = reader.read_form(1)? else { continue };
                    if !matches!(item.form, Form::Map(_)) {
                        return Err(item
                            .error(format!(
                                "expected every element of the top-level {kind} to be {EVENT_MAP}, found {}",
                                describe(&item)
                            ))
                            .into());
                    }
                    emit(&item)?;
                }
            }
        }
        reader.open.pop();
        if let Some(extra) = reader.next_top()? {
            return Err(extra
                .error(format!(
                    "found {} after the top-level {kind}; expected the end of the input (a history is one {kind} \
                     of event maps, or a sequence of event maps, not both)",
                    describe(&extra)
                ))
                .into());
        }
        return Ok(());
    }
    let Some(first) = reader.next_top()? else {
        return Ok(());
    };
    match &first.form {
        Form::Vector(items) | Form::List(items) => {
            // A collection after a discarded form (`#_ x [...]`): read whole, as it came.
            let kind = first.form.coll_name();
            for item in items {
                if !matches!(item.form, Form::Map(_)) {
                    return Err(item
                        .error(format!(
                            "expected every element of the top-level {kind} to be {EVENT_MAP}, found {}",
                            describe(item)
                        ))
                        .into());
                }
                emit(item)?;
            }
            if let Some(extra) = reader.next_top()? {
                return Err(extra
                    .error(format!(
                        "found {} after the top-level {kind}; expected the end of the input (a history is one \
                         {kind} of event maps, or a sequence of event maps, not both)",
                        describe(&extra)
                    ))
                    .into());
            }
        }
        Form::Map(_) => {
            let mut next = Some(first);
            while let Some(node) = next {
                if !matches!(node.form, Form::Map(_)) {
                    return Err(node
                        .error(format!("expected {EVENT_MAP} at the top level, found {}", describe(&node)))
                        .into());
                }
                emit(&node)?;
                next = reader.next_top()?;
            }
        }
        _ => {
            return Err(first
                .error(format!("expected {EVENT_MAP} or a vector of them at the top level, found {}", describe(&first)))
                .into());
        }
    }
    Ok(())
}

/// Parses `text`, a fragment of one source line that starts at `line`, `column`, as exactly
/// one EDN form and converts it to a [`Value`] (the rules of `:value`, but maps are refused:
/// the etcd log never writes them). Trailing whitespace
/// and a `;` comment are allowed; anything else after the form is an error. Errors carry
/// absolute positions.
pub(crate) fn parse_value_fragment(text: &str, line: usize, column: usize) -> Result<Value, ParseError> {
    let node = read_fragment(text, line, column, "the value")?;
    value_of(&node, "the value field", false)
}

/// Reads `text`, a fragment of one source line that starts at `line`, `column`, as exactly one
/// EDN form. `what` names the fragment in messages ("the value").
pub(crate) fn read_fragment(text: &str, line: usize, column: usize, what: &str) -> Result<Node, ParseError> {
    let mut reader = Reader::new(text.chars(), line, column, true);
    let Some(node) = reader.next_top()? else {
        return Err(ParseError::new(line, column, format!("missing {what}")));
    };
    reader.skip_ws();
    if reader.peek().is_some() {
        let pos = reader.pos();
        let rest: String = std::iter::from_fn(|| reader.bump()).collect();
        return Err(ParseError::new(
            pos.line,
            pos.column,
            format!("unexpected `{}` after {what}; expected the end of the line", snippet(rest.trim_end())),
        ));
    }
    Ok(node)
}

/// A 1-based position in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pos {
    /// 1-based line.
    pub(crate) line: usize,
    /// 1-based column, in characters.
    pub(crate) column: usize,
}

/// An EDN form as read, before it is given a meaning.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Form {
    Nil,
    Bool(bool),
    Int(i64),
    /// The source text of a floating-point number (never converted: floats are refused).
    Float(String),
    Str(String),
    Char(char),
    /// The name without the colon (`foo/bar` for `:foo/bar`).
    Keyword(String),
    Symbol(String),
    Vector(Vec<Node>),
    List(Vec<Node>),
    /// Keys and values alternate: `[k0, v0, k1, v1, ...]` (the reader checks the count is even).
    Map(Vec<Node>),
    Set(Vec<Node>),
    /// `#tag form`.
    Tagged(String, Box<Node>),
}

impl Form {
    fn coll_name(&self) -> &'static str {
        match self {
            Form::List(_) => "list",
            Form::Map(_) => "map",
            Form::Set(_) => "set",
            _ => "vector",
        }
    }
}

/// A form and where it starts (for collections, the opening bracket).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub(crate) form: Form,
    pub(crate) pos: Pos,
}

impl Node {
    fn error(&self, message: impl Into<String>) -> ParseError {
        ParseError::new(self.pos.line, self.pos.column, message)
    }
}

/// A short description of what a form is, for "found ..." in error messages.
fn describe(node: &Node) -> String {
    match &node.form {
        Form::Nil => "nil".to_owned(),
        Form::Bool(b) => format!("the boolean {b}"),
        Form::Int(i) => format!("the integer {i}"),
        Form::Float(text) => format!("the floating-point number {}", snippet(text)),
        Form::Str(s) => format!("the string {:?}", snippet(s)),
        Form::Char(c) => format!("the character {c:?}"),
        Form::Keyword(k) => format!("the keyword :{}", snippet(k)),
        Form::Symbol(s) => format!("the symbol {}", snippet(s)),
        Form::Vector(_) => "a vector".to_owned(),
        Form::List(_) => "a list".to_owned(),
        Form::Map(_) => "a map".to_owned(),
        Form::Set(items) => format!("a set of {} elements", items.len()),
        Form::Tagged(tag, inner) => {
            format!("a tagged literal #{} (of {})", snippet(tag), describe(inner))
        }
    }
}

/// A form as EDN text (for values kept verbatim).
fn render(node: &Node) -> String {
    let join = |items: &[Node]| items.iter().map(render).collect::<Vec<_>>().join(" ");
    match &node.form {
        Form::Nil => "nil".to_owned(),
        Form::Bool(b) => b.to_string(),
        Form::Int(i) => i.to_string(),
        Form::Float(text) => text.clone(),
        Form::Str(s) => format!("{s:?}"),
        Form::Char(c) => format!("\\{c}"),
        Form::Keyword(k) => format!(":{k}"),
        Form::Symbol(s) => s.clone(),
        Form::Vector(items) => format!("[{}]", join(items)),
        Form::List(items) => format!("({})", join(items)),
        Form::Map(items) => format!("{{{}}}", join(items)),
        Form::Set(items) => format!("#{{{}}}", join(items)),
        Form::Tagged(tag, inner) => format!("#{tag} {}", render(inner)),
    }
}

/// At most 40 characters of `text`, for messages.
fn snippet(text: &str) -> String {
    const LIMIT: usize = 40;
    if text.chars().count() <= LIMIT {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(LIMIT).collect();
        cut.push('…');
        cut
    }
}

/// Converts one event map (the caller has checked that `node` is a map).
fn event_of(node: &Node) -> Result<Event, ParseError> {
    let Form::Map(items) = &node.form else {
        return Err(node.error(format!("expected {EVENT_MAP}, found {}", describe(node))));
    };
    let mut process = None;
    let mut kind = None;
    let mut f = None;
    let mut value = None;
    let mut key = None;
    let mut time = None;
    let mut index = None;
    for pair in items.chunks(2) {
        let [k, v] = pair else { continue };
        let Form::Keyword(name) = &k.form else {
            continue;
        };
        let slot = match name.as_str() {
            "process" => &mut process,
            "type" => &mut kind,
            "f" => &mut f,
            "value" => &mut value,
            "key" => &mut key,
            "time" => &mut time,
            "index" => &mut index,
            _ => continue,
        };
        if slot.is_some() {
            return Err(k.error(format!("duplicate key :{name} in the event map")));
        }
        *slot = Some(v);
    }
    let missing =
        |name: &str| node.error(format!("missing :{name} in the event map; every event needs :process, :type and :f"));
    let process = process_of(process.ok_or_else(|| missing("process"))?, ":process")?;
    let kind = event_type_of(kind.ok_or_else(|| missing("type"))?, ":type")?;
    let f = name_of(f.ok_or_else(|| missing("f"))?, ":f")?;
    let named = matches!(process, Process::Named(_));
    let mut event = Event::new(process, kind, f, Value::Nil);
    if let Some(value) = value {
        event.value = match value_of(value, ":value", true) {
            Ok(value) => value,
            // The nemesis logs maps and sets (`{:n1 [:n2 :n3]}`); nothing checks them, so keep
            // their text rather than refuse the whole history.
            Err(_) if named => Value::Str(render(value)),
            Err(error) => return Err(error),
        };
    }
    if let Some(key) = key {
        event.key = Some(value_of(key, ":key", false)?).filter(|k| !k.is_nil());
    }
    if let Some(time) = time {
        event.time = opt_u64_of(time, ":time", " (nanoseconds)")?;
    }
    if let Some(index) = index {
        event.index = opt_u64_of(index, ":index", "")?;
    }
    Ok(event)
}

/// `:process`: an integer >= 0 is a client; a keyword, symbol or non-empty string is a name.
pub(crate) fn process_of(node: &Node, field: &str) -> Result<Process, ParseError> {
    match &node.form {
        Form::Int(i) => u64::try_from(*i).map(Process::Client).map_err(|_| {
            node.error(format!(
                "expected {field} to be a non-negative integer or a name like :nemesis, found {}",
                describe(node)
            ))
        }),
        Form::Keyword(name) | Form::Symbol(name) | Form::Str(name) if !name.is_empty() => {
            Ok(Process::Named(name.clone()))
        }
        _ => {
            Err(node
                .error(format!("expected {field} to be an integer or a name like :nemesis, found {}", describe(node))))
        }
    }
}

/// `:type`: one of `:invoke`, `:ok`, `:fail`, `:info` (as a keyword, symbol or string).
pub(crate) fn event_type_of(node: &Node, field: &str) -> Result<EventType, ParseError> {
    const EXPECTED: &str = "one of :invoke, :ok, :fail or :info";
    match &node.form {
        Form::Keyword(name) | Form::Symbol(name) | Form::Str(name) => EventType::from_name(name).ok_or_else(|| {
            node.error(format!("unknown event type: expected {field} to be {EXPECTED}, found {}", describe(node)))
        }),
        _ => Err(node.error(format!("expected {field} to be {EXPECTED}, found {}", describe(node)))),
    }
}

/// `:f`: a keyword, symbol or string, without the colon.
pub(crate) fn name_of(node: &Node, field: &str) -> Result<String, ParseError> {
    match &node.form {
        Form::Keyword(name) | Form::Symbol(name) | Form::Str(name) => Ok(name.clone()),
        _ => Err(node.error(format!(
            "expected {field} to be a keyword, symbol or string naming the operation, found {}",
            describe(node)
        ))),
    }
}

/// A [`Value`]: nil, booleans, integers, strings, keywords and symbols (as strings), and
/// vectors or lists of those.
/// Converts a form to a [`Value`]; `maps` says whether maps become lists of pairs (values) or
/// are refused (keys, which must compare as the simple values they are).
pub(crate) fn value_of(node: &Node, field: &str, maps: bool) -> Result<Value, ParseError> {
    Ok(match &node.form {
        Form::Nil => Value::Nil,
        Form::Bool(b) => Value::Bool(*b),
        Form::Int(i) => Value::Int(*i),
        Form::Str(s) | Form::Keyword(s) | Form::Symbol(s) => Value::Str(s.clone()),
        Form::Vector(items) | Form::List(items) => {
            Value::List(items.iter().map(|item| value_of(item, field, maps)).collect::<Result<_, _>>()?)
        }
        Form::Float(text) => {
            return Err(node.error(format!(
                "unsupported floating-point number {} in {field}; expected an integer \
                 ({VALUE_SHAPES})",
                snippet(text)
            )));
        }
        // A map (Jepsen's bank: `{:from 1 :to 2 :amount 5}`, `{0 10 1 20}`) becomes a list of
        // `[key value]` pairs in source order, so that no information is lost and no order is
        // invented.
        Form::Map(items) if maps => Value::List(
            items
                .chunks(2)
                .map(|pair| {
                    pair.iter().map(|item| value_of(item, field, maps)).collect::<Result<Vec<_>, _>>().map(Value::List)
                })
                .collect::<Result<_, _>>()?,
        ),
        Form::Char(_) | Form::Map(_) | Form::Set(_) | Form::Tagged(..) => {
            return Err(
                node.error(format!("unsupported value in {field}: expected {VALUE_SHAPES}, found {}", describe(node)))
            );
        }
    })
}

/// `:time` and `:index`: an integer >= 0, or nil for none.
fn opt_u64_of(node: &Node, field: &str, unit: &str) -> Result<Option<u64>, ParseError> {
    match &node.form {
        Form::Nil => Ok(None),
        Form::Int(i) if *i >= 0 => Ok(u64::try_from(*i).ok()),
        _ => Err(node.error(format!("expected {field} to be a non-negative integer{unit}, found {}", describe(node)))),
    }
}

/// Commas are whitespace in EDN.
fn is_ws(c: char) -> bool {
    c.is_whitespace() || c == ','
}

fn is_closer(c: char) -> bool {
    matches!(c, ')' | ']' | '}')
}

/// Characters that may appear in a symbol, keyword, number or tag.
fn is_constituent(c: char) -> bool {
    !is_ws(c) && !matches!(c, '(' | ')' | '[' | ']' | '{' | '}' | '"' | ';' | '\\')
}

/// A collection being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coll {
    Vector,
    List,
    Map,
    Set,
}

impl Coll {
    fn name(self) -> &'static str {
        match self {
            Coll::Vector => "vector",
            Coll::List => "list",
            Coll::Map => "map",
            Coll::Set => "set",
        }
    }

    fn close(self) -> char {
        match self {
            Coll::Vector => ']',
            Coll::List => ')',
            Coll::Map | Coll::Set => '}',
        }
    }
}

/// The EDN reader: a cursor over the characters of the input with its line and column. It
/// looks at most two characters ahead, so it reads from any character stream.
struct Reader<I: Iterator<Item = char>> {
    chars: I,
    /// Characters taken from `chars` and not yet consumed (at most two).
    ahead: std::collections::VecDeque<char>,
    line: usize,
    column: usize,
    /// Collections opened and not yet closed, outermost first.
    open: Vec<(Coll, Pos)>,
    /// The input is a fragment of one line (its end is the end of the line).
    fragment: bool,
}

impl<I: Iterator<Item = char>> Reader<I> {
    fn new(chars: I, line: usize, column: usize, fragment: bool) -> Self {
        Self { chars, ahead: std::collections::VecDeque::new(), line, column, open: Vec::new(), fragment }
    }

    /// The character `n` places ahead (0: the next one).
    fn look(&mut self, n: usize) -> Option<char> {
        while self.ahead.len() <= n {
            let c = self.chars.next()?;
            self.ahead.push_back(c);
        }
        self.ahead.get(n).copied()
    }

    fn peek(&mut self) -> Option<char> {
        self.look(0)
    }

    fn pos(&self) -> Pos {
        Pos { line: self.line, column: self.column }
    }

    fn bump(&mut self) -> Option<char> {
        self.look(0)?;
        let c = self.ahead.pop_front()?;
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn error_here(&self, message: impl Into<String>) -> ParseError {
        ParseError::new(self.line, self.column, message)
    }

    /// "the input ended at line 9" or "the line ended".
    fn end_description(&self) -> String {
        if self.fragment {
            "the line ended".to_owned()
        } else {
            format!("the input ended at line {}", self.line)
        }
    }

    /// Skips whitespace, commas and `;` comments.
    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            if c == ';' {
                while let Some(c) = self.bump() {
                    if c == '\n' {
                        break;
                    }
                }
            } else if is_ws(c) {
                self.bump();
            } else {
                break;
            }
        }
    }

    /// The next top-level form, or `None` at the end of the input.
    fn next_top(&mut self) -> Result<Option<Node>, ParseError> {
        loop {
            self.skip_ws();
            if self.peek().is_none() {
                return Ok(None);
            }
            if let Some(node) = self.read_form(0)? {
                return Ok(Some(node));
            }
        }
    }

    fn stray_closer(&self, c: char) -> ParseError {
        self.error_here(format!("unexpected `{c}`: there is no open bracket for it to close"))
    }

    fn unterminated(&self, what: &str, opened: Pos, closer: char) -> ParseError {
        let mut message = format!(
            "unterminated {what} opened at line {}, column {}: {} before its closing `{closer}`",
            opened.line,
            opened.column,
            self.end_description()
        );
        if let Some((_, outer)) = self.open.iter().find(|(coll, pos)| *coll == Coll::Map && pos.line != opened.line) {
            message
                .push_str(&format!(" (it is inside the map opened at line {}, column {})", outer.line, outer.column));
        }
        ParseError::new(opened.line, opened.column, message)
    }

    /// Reads the form after `#_` or a tag, skipping further discards. `after` names what
    /// precedes it for messages; `start` is where that began.
    fn read_required(&mut self, depth: usize, after: &str, start: Pos) -> Result<Node, ParseError> {
        loop {
            self.skip_ws();
            match self.peek() {
                None => {
                    return Err(ParseError::new(
                        start.line,
                        start.column,
                        format!("expected a form after `{after}`, but {}", self.end_description()),
                    ));
                }
                Some(c) if is_closer(c) => {
                    return Err(self.error_here(format!("expected a form after `{after}`, found `{c}`")));
                }
                Some(_) => {
                    if let Some(node) = self.read_form(depth)? {
                        return Ok(node);
                    }
                }
            }
        }
    }

    /// Reads one form starting at the current (non-whitespace) character. `None` when the
    /// form was a `#_` discard, which produces nothing.
    fn read_form(&mut self, depth: usize) -> Result<Option<Node>, ParseError> {
        let pos = self.pos();
        if depth > MAX_DEPTH {
            return Err(self.error_here(format!("forms are nested more than {MAX_DEPTH} levels deep")));
        }
        let Some(c) = self.peek() else {
            return Err(self.error_here(format!("expected a form, but {}", self.end_description())));
        };
        let form = match c {
            '[' => {
                self.bump();
                Form::Vector(self.read_seq(Coll::Vector, pos, depth)?)
            }
            '(' => {
                self.bump();
                Form::List(self.read_seq(Coll::List, pos, depth)?)
            }
            '{' => {
                self.bump();
                Form::Map(self.read_seq(Coll::Map, pos, depth)?)
            }
            ')' | ']' | '}' => return Err(self.stray_closer(c)),
            '"' => Form::Str(self.read_string()?),
            '\\' => Form::Char(self.read_char()?),
            '#' => {
                self.bump();
                match self.peek() {
                    Some('{') => {
                        self.bump();
                        Form::Set(self.read_seq(Coll::Set, pos, depth)?)
                    }
                    Some('_') => {
                        self.bump();
                        self.read_required(depth + 1, "#_", pos)?;
                        return Ok(None);
                    }
                    Some('#') => {
                        self.bump();
                        let name = self.read_token();
                        match name.as_str() {
                            "Inf" | "-Inf" | "NaN" => Form::Float(format!("##{name}")),
                            _ => {
                                return Err(ParseError::new(
                                    pos.line,
                                    pos.column,
                                    format!(
                                        "unknown symbolic value ##{}; \
                                         expected ##Inf, ##-Inf or ##NaN",
                                        snippet(&name)
                                    ),
                                ));
                            }
                        }
                    }
                    Some(c) if c.is_alphabetic() => {
                        let tag = self.read_token();
                        let inner = self.read_required(depth + 1, &format!("#{tag}"), pos)?;
                        Form::Tagged(tag, Box::new(inner))
                    }
                    _ => {
                        return Err(ParseError::new(pos.line, pos.column, "expected `{`, `_` or a tag name after `#`"));
                    }
                }
            }
            ':' => {
                self.bump();
                let name = self.read_token();
                if name.is_empty() {
                    return Err(ParseError::new(pos.line, pos.column, "expected a keyword name after `:`"));
                }
                if name.starts_with(':') {
                    return Err(ParseError::new(
                        pos.line,
                        pos.column,
                        format!("invalid keyword :{}: EDN keywords start with a single colon", snippet(&name)),
                    ));
                }
                Form::Keyword(name)
            }
            _ => {
                let token = self.read_token();
                if token.is_empty() {
                    // Unreachable with the dispatch above, but never loop on a character.
                    self.bump();
                    return Err(ParseError::new(pos.line, pos.column, format!("unexpected `{c}`")));
                }
                classify(&token, pos)?
            }
        };
        Ok(Some(Node { form, pos }))
    }

    /// Reads the elements of a collection whose opening bracket (at `open`) is consumed,
    /// through its closing bracket.
    fn read_seq(&mut self, coll: Coll, open: Pos, depth: usize) -> Result<Vec<Node>, ParseError> {
        self.open.push((coll, open));
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                None => {
                    self.open.pop();
                    return Err(self.unterminated(coll.name(), open, coll.close()));
                }
                Some(c) if c == coll.close() => {
                    self.bump();
                    break;
                }
                Some(c) if is_closer(c) => {
                    return Err(self.error_here(format!(
                        "unexpected `{c}`: expected `{}` to close the {} opened at \
                         line {}, column {}",
                        coll.close(),
                        coll.name(),
                        open.line,
                        open.column
                    )));
                }
                Some(_) => {
                    if let Some(node) = self.read_form(depth + 1)? {
                        items.push(node);
                    }
                }
            }
        }
        self.open.pop();
        if coll == Coll::Map && items.len() % 2 == 1 {
            if let Some(last) = items.last() {
                return Err(last.error(format!(
                    "odd number of forms in the map opened at line {}, column {}: {} has no \
                     value (a map needs a value for every key)",
                    open.line,
                    open.column,
                    describe(last)
                )));
            }
        }
        Ok(items)
    }

    /// A run of constituent characters (possibly empty).
    fn read_token(&mut self) -> String {
        let mut token = String::new();
        while let Some(c) = self.peek() {
            if !is_constituent(c) {
                break;
            }
            token.push(c);
            self.bump();
        }
        token
    }

    /// A string literal; the current character is its opening quote.
    fn read_string(&mut self) -> Result<String, ParseError> {
        let open = self.pos();
        self.bump();
        let mut text = String::new();
        loop {
            let here = self.pos();
            let Some(c) = self.bump() else {
                return Err(self.unterminated("string", open, '"'));
            };
            match c {
                '"' => return Ok(text),
                '\\' => {
                    let Some(escape) = self.bump() else {
                        return Err(self.unterminated("string", open, '"'));
                    };
                    match escape {
                        '"' => text.push('"'),
                        '\\' => text.push('\\'),
                        'n' => text.push('\n'),
                        't' => text.push('\t'),
                        'r' => text.push('\r'),
                        'b' => text.push('\u{8}'),
                        'f' => text.push('\u{c}'),
                        'u' => text.push(self.read_unicode_escape(here)?),
                        other => {
                            return Err(ParseError::new(
                                here.line,
                                here.column,
                                format!(
                                    "invalid escape `\\{other}` in a string; expected one of \
                                     \\\" \\\\ \\n \\t \\r \\b \\f \\uXXXX"
                                ),
                            ));
                        }
                    }
                }
                other => text.push(other),
            }
        }
    }

    /// Four hex digits; `u` after the backslash (at `at`) is consumed. Surrogate pairs
    /// (`\uD83D\uDE00`) are combined.
    fn read_unicode_escape(&mut self, at: Pos) -> Result<char, ParseError> {
        let first = self.read_hex4(at)?;
        let code = if (0xD800..0xDC00).contains(&first) && self.peek() == Some('\\') && self.look(1) == Some('u') {
            self.bump();
            self.bump();
            let second = self.read_hex4(at)?;
            if !(0xDC00..0xE000).contains(&second) {
                return Err(ParseError::new(
                    at.line,
                    at.column,
                    format!("invalid unicode escape: \\u{first:04X} is not followed by a low surrogate"),
                ));
            }
            0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
        } else {
            first
        };
        char::from_u32(code).ok_or_else(|| {
            ParseError::new(
                at.line,
                at.column,
                format!("invalid unicode escape \\u{code:04X}: not a character (a lone surrogate)"),
            )
        })
    }

    fn read_hex4(&mut self, at: Pos) -> Result<u32, ParseError> {
        let mut code = 0;
        for _ in 0..4 {
            let digit = self.peek().and_then(|c| c.to_digit(16)).ok_or_else(|| {
                ParseError::new(at.line, at.column, "invalid unicode escape: expected four hex digits after \\u")
            })?;
            self.bump();
            code = code * 16 + digit;
        }
        Ok(code)
    }

    /// A character literal (`\a`, `\newline`, `\u0041`); the current character is the backslash.
    fn read_char(&mut self) -> Result<char, ParseError> {
        let pos = self.pos();
        self.bump();
        let first = match self.peek() {
            Some(c) if !is_ws(c) => c,
            _ => {
                return Err(ParseError::new(
                    pos.line,
                    pos.column,
                    "expected a character after `\\` (such as \\a or \\newline)",
                ));
            }
        };
        self.bump();
        let mut name = String::from(first);
        if first.is_alphanumeric() {
            name.push_str(&self.read_token());
        }
        let mut chars = name.chars();
        if let (Some(only), None) = (chars.next(), chars.next()) {
            return Ok(only);
        }
        let named = match name.as_str() {
            "newline" => Some('\n'),
            "space" => Some(' '),
            "tab" => Some('\t'),
            "return" => Some('\r'),
            "formfeed" => Some('\u{c}'),
            "backspace" => Some('\u{8}'),
            _ => name
                .strip_prefix('u')
                .filter(|hex| hex.len() == 4)
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .and_then(char::from_u32),
        };
        named.ok_or_else(|| {
            ParseError::new(pos.line, pos.column, format!("invalid character literal \\{}", snippet(&name)))
        })
    }
}

/// A token that is not a keyword: `nil`, `true`, `false`, a number, or a symbol.
fn classify(token: &str, pos: Pos) -> Result<Form, ParseError> {
    match token {
        "nil" => return Ok(Form::Nil),
        "true" => return Ok(Form::Bool(true)),
        "false" => return Ok(Form::Bool(false)),
        _ => {}
    }
    let mut chars = token.chars();
    let first = chars.next();
    let second = chars.next();
    let numeric = match first {
        Some(c) if c.is_ascii_digit() => true,
        Some('+' | '-') => second.is_some_and(|c| c.is_ascii_digit()),
        _ => false,
    };
    if numeric {
        parse_number(token, pos)
    } else {
        Ok(Form::Symbol(token.to_owned()))
    }
}

/// An integer (`-12`, `+3`, `7N`) or a float (`1.5`, `1e3`, `2M`).
fn parse_number(token: &str, pos: Pos) -> Result<Form, ParseError> {
    let error = |message: String| ParseError::new(pos.line, pos.column, message);
    let negative = token.starts_with('-');
    let unsigned = token.strip_prefix(['+', '-']).unwrap_or(token);
    let digits = unsigned.strip_suffix('N').unwrap_or(unsigned);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if digits.len() > 1 && digits.starts_with('0') {
            return Err(error(format!("invalid number {}: only 0 itself may start with the digit 0", snippet(token))));
        }
        let signed = if negative { format!("-{digits}") } else { digits.to_owned() };
        return signed
            .parse::<i64>()
            .map(Form::Int)
            .map_err(|_| error(format!("integer {} does not fit in 64 signed bits", snippet(token))));
    }
    if is_float(unsigned) {
        return Ok(Form::Float(token.to_owned()));
    }
    Err(error(format!("invalid number {}", snippet(token))))
}

/// `digits [. digits] [e|E [+|-] digits] [M]`, with at least a fraction, an exponent or `M`.
fn is_float(text: &str) -> bool {
    let (body, big) = match text.strip_suffix('M') {
        Some(body) => (body, true),
        None => (text, false),
    };
    let bytes = body.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while bytes.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    if digits(&mut i) == 0 {
        return false;
    }
    let mut decorated = big;
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        digits(&mut i);
        decorated = true;
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
        decorated = true;
    }
    decorated && i == bytes.len()
}

#[cfg(test)]
mod tests {

    #[test]
    fn nemesis_values_of_any_shape_are_kept_as_text() {
        let text = "{:process :nemesis, :type :info, :f :start, :value {:n1 #{:n2 :n3}}}\n\
                    {:process 0, :type :invoke, :f :read, :value nil}\n";
        let history = parse(text).expect("nemesis maps are not refused");
        assert_eq!(history.events[0].value, Value::Str("{:n1 #{:n2 :n3}}".to_owned()));
        let client = "{:process 0, :type :invoke, :f :read, :value {:n1 #{1}}}";
        assert!(parse(client).is_err(), "a client's set value is still refused");
    }
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    /// The Porcupine corpus, shared with the rest of the lab (/work/shared from this crate).
    fn corpus_dir(sub: &str) -> std::path::PathBuf {
        crate::test_corpus_dir().join(sub)
    }

    fn kv_files() -> Vec<(String, String)> {
        let mut files: Vec<_> = std::fs::read_dir(corpus_dir("kv"))
            .expect("the kv corpus is readable")
            .map(|entry| entry.expect("a directory entry").path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "txt"))
            .map(|path| {
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
                let text = std::fs::read_to_string(&path).expect("a readable corpus file");
                (name.unwrap_or_default(), text)
            })
            .collect();
        files.sort();
        files
    }

    fn kv_file(name: &str) -> String {
        std::fs::read_to_string(corpus_dir("kv").join(name)).expect("a readable corpus file")
    }

    fn event(process: u64, kind: EventType, f: &str, key: &str, value: Value) -> Event {
        let mut event = Event::new(Process::Client(process), kind, f, value);
        event.key = Some(Value::from(key));
        event
    }

    fn err(text: &str) -> ParseError {
        match parse(text) {
            Ok(history) => panic!("expected an error for {text:?}, parsed {history:?}"),
            Err(error) => error,
        }
    }

    /// Asserts the error's position and that its message holds every fragment.
    fn assert_error(error: &ParseError, line: usize, column: usize, fragments: &[&str]) {
        assert_eq!((error.line, error.column), (line, column), "position of: {error}");
        for fragment in fragments {
            assert!(error.message.contains(fragment), "{fragment:?} missing from: {error}");
        }
    }

    /// 1-based column (in characters) of the first occurrence of `needle` in line 1 of `text`.
    fn col(text: &str, needle: &str) -> usize {
        let byte = text.find(needle).expect("needle in text");
        text[..byte].chars().count() + 1
    }

    const KNOSSOS: &str = r#"; A Knossos-style history: one vector of maps over many lines.
[{:process 0, :type :invoke, :f :write, :value 3, :time 1000, :index 0}
 {:process 0, :type :ok, :f :write, :value 3, :time 2500, :index 1}
 {:process 1, :type :invoke, :f :cas, :value [3 4], :time 3000}, ; commas are whitespace
 {:process :nemesis, :type :info, :f :start, :value nil, :extra #{:n1 :n2}}
 {:process 1, :type :info, :f :cas, :value [3 4], :error :timed-out,
  :jepsen/node "n1", :when #inst "2015-01-01T00:00:00Z", :ratio 0.5}
 #_{:process 9, :type :ok, :f :discarded}
 {:process 2, :type :invoke, :f :read, :value nil, :key nil}
 {:process 2, :type :fail, :f "read", :value :not-found, :time nil}
 {:process 3, :type :invoke, :f read, :value ("a\tb" -7 true false 9N), :key :k1}]
"#;

    fn knossos_events() -> Vec<Event> {
        let mut write = Event::new(Process::Client(0), EventType::Invoke, "write", Value::Int(3));
        write.time = Some(1000);
        write.index = Some(0);
        let mut written = Event::new(Process::Client(0), EventType::Ok, "write", Value::Int(3));
        written.time = Some(2500);
        written.index = Some(1);
        let cas_value = Value::List(vec![Value::Int(3), Value::Int(4)]);
        let mut cas = Event::new(Process::Client(1), EventType::Invoke, "cas", cas_value.clone());
        cas.time = Some(3000);
        let mut mixed = Event::new(
            Process::Client(3),
            EventType::Invoke,
            "read",
            Value::List(vec![
                Value::from("a\tb"),
                Value::Int(-7),
                Value::Bool(true),
                Value::Bool(false),
                Value::Int(9),
            ]),
        );
        mixed.key = Some(Value::from("k1"));
        vec![
            write,
            written,
            cas,
            Event::new(Process::Named("nemesis".into()), EventType::Info, "start", Value::Nil),
            Event::new(Process::Client(1), EventType::Info, "cas", cas_value),
            Event::new(Process::Client(2), EventType::Invoke, "read", Value::Nil),
            Event::new(Process::Client(2), EventType::Fail, "read", Value::from("not-found")),
            mixed,
        ]
    }

    #[test]
    fn parses_every_kv_corpus_file() {
        let files = kv_files();
        assert_eq!(files.len(), 6, "c01/c10/c50, ok and bad");
        for (name, text) in files {
            let history = parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            let op_lines: Vec<u32> = text
                .lines()
                .enumerate()
                .filter(|(_, line)| !line.trim().is_empty())
                .map(|(i, _)| i as u32 + 1)
                .collect();
            assert_eq!(history.len(), op_lines.len(), "{name}");
            assert_eq!(history.lines, op_lines, "{name}");
            for event in &history.events {
                assert!(matches!(event.process, Process::Client(_)), "{name}: {event:?}");
                assert!(matches!(event.kind, EventType::Invoke | EventType::Ok), "{name}");
                assert!(["get", "put", "append"].contains(&event.f.as_str()), "{name}");
                assert!(matches!(event.key, Some(Value::Str(_))), "{name}: {event:?}");
                assert!(event.time.is_none() && event.index.is_none(), "{name}");
            }
        }
    }

    #[test]
    fn spot_checks_kv_events() {
        let history = parse(&kv_file("c01-ok.txt")).expect("c01-ok parses");
        assert_eq!(history.events[0], event(0, EventType::Invoke, "append", "0", Value::from("x 0 0 y")));
        assert_eq!(history.events[1], event(0, EventType::Ok, "append", "0", Value::from("x 0 0 y")));
        assert_eq!(history.events[8], event(0, EventType::Invoke, "get", "5", Value::Nil));
        assert_eq!(history.events[9], event(0, EventType::Ok, "get", "5", Value::from("")));
        assert_eq!(history.lines[9], 10);

        let history = parse(&kv_file("c10-ok.txt")).expect("c10-ok parses");
        assert_eq!(history.events[63], event(9, EventType::Invoke, "put", "6", Value::from("x 9 3 y")));

        let history = parse(&kv_file("c50-bad.txt")).expect("c50-bad parses");
        assert_eq!(history.len(), 4048);
        assert_eq!(history.events.last(), Some(&event(43, EventType::Ok, "append", "1", Value::from("x 43 9 y"))));
    }

    #[test]
    fn reads_a_knossos_vector_with_comments_discards_and_ignored_fields() {
        let history = parse(KNOSSOS).expect("the sample parses");
        assert_eq!(history.events, knossos_events());
        assert_eq!(history.lines, vec![2, 3, 4, 5, 6, 9, 10, 11]);
    }

    #[test]
    fn vector_and_stream_shapes_give_the_same_events() {
        let stream = kv_file("c10-ok.txt");
        let from_stream = parse(&stream).expect("stream parses");

        let vector = format!("[{stream}]");
        let from_vector = parse(&vector).expect("multi-line vector parses");
        assert_eq!(from_vector, from_stream, "same events and same lines");

        let one_line = format!("[{}]", stream.lines().collect::<Vec<_>>().join(" "));
        let from_one_line = parse(&one_line).expect("one-line vector parses");
        assert_eq!(from_one_line.events, from_stream.events);
        assert!(from_one_line.lines.iter().all(|&line| line == 1));

        let list = format!("({stream})");
        assert_eq!(parse(&list).expect("a list parses").events, from_stream.events);

        // And the Knossos sample, one map per line.
        let knossos_stream: String = knossos_events()
            .iter()
            .map(|e| {
                let mut map = format!("{{:process {}, :type {}, :f {:?}", e.process, e.kind, e.f);
                if let Process::Named(name) = &e.process {
                    map = format!("{{:process :{name}, :type :{}, :f {:?}", e.kind, e.f);
                } else {
                    map = map.replacen(":type ", ":type :", 1);
                }
                if let Some(key) = &e.key {
                    map.push_str(&format!(", :key {key}"));
                }
                map.push_str(&format!(", :value {}", e.value));
                if let Some(time) = e.time {
                    map.push_str(&format!(", :time {time}"));
                }
                if let Some(index) = e.index {
                    map.push_str(&format!(", :index {index}"));
                }
                map.push_str("}\n");
                map
            })
            .collect();
        let history = parse(&knossos_stream).expect("per-line Knossos parses");
        assert_eq!(history.events, knossos_events(), "{knossos_stream}");
        assert_eq!(history.lines, (1..=8).collect::<Vec<_>>());
    }

    #[test]
    fn round_trips_through_jsonl() {
        let mut sources: Vec<String> = kv_files().into_iter().map(|(_, text)| text).collect();
        sources.push(KNOSSOS.to_owned());
        for source in sources {
            let history = parse(&source).expect("source parses");
            let jsonl = crate::jsonl::to_string(&history.events);
            let back = crate::jsonl::parse(&jsonl).expect("own JSONL parses");
            assert_eq!(back.events, history.events);
        }
    }

    #[test]
    fn empty_and_comment_only_texts_are_empty_histories() {
        for text in ["", "\n\n", "  ; nothing here\n", "\u{feff}", "[]", "[\n]\n", "#_{:a 1}"] {
            assert_eq!(parse(text), Ok(History::default()), "{text:?}");
        }
    }

    #[test]
    fn reads_scalars_strings_and_keywords() {
        let text = r#"{:process 0 :type :ok :f :ns/op
          :key "k\"q\\\n\r\u00e9\ud83d\ude00"
          :value [-9223372036854775808 +5 0 12N :a/b sym nil [] ()]
          :other [\a \newline \u0041 ##Inf 1.5 2e3 7M #{1} {:x 1}]}"#;
        let history = parse(text).expect("parses");
        let event = &history.events[0];
        assert_eq!(event.f, "ns/op");
        assert_eq!(event.key, Some(Value::from("k\"q\\\n\ré😀")));
        assert_eq!(
            event.value,
            Value::List(vec![
                Value::Int(i64::MIN),
                Value::Int(5),
                Value::Int(0),
                Value::Int(12),
                Value::from("a/b"),
                Value::from("sym"),
                Value::Nil,
                Value::List(vec![]),
                Value::List(vec![]),
            ])
        );
    }

    #[test]
    fn truncated_line_is_an_unterminated_map() {
        let error = err("{:process 0, :type :inv");
        assert_error(&error, 1, 1, &["unterminated map", "line 1", "`}`"]);

        // Mid-file, the truncated map swallows the lines after it; the error still points at it.
        let mut text = kv_file("c01-ok.txt");
        let third = text.lines().nth(2).expect("a third line").to_owned();
        text = text.replacen(&third, &third[..23], 1);
        let error = err(&text);
        assert_error(&error, 3, 1, &["unterminated map opened at line 3, column 1", "line 117"]);
    }

    #[test]
    fn unterminated_string() {
        let text = "{:process 0, :type :invoke, :f \"read}";
        assert_error(&err(text), 1, col(text, "\""), &["unterminated string", "line 1", "input ended"]);
        // A string left open inside a map that opened on an earlier line names both.
        let text = "{:process 0,\n :type :invoke, :f \"read}";
        assert_error(&err(text), 2, 20, &["unterminated string", "inside the map opened at line 1"]);
    }

    #[test]
    fn unknown_type_lists_the_expected_ones() {
        let text = "{:process 0, :type :done, :f :read}";
        assert_error(
            &err(text),
            1,
            col(text, ":done"),
            &["unknown event type", ":type", ":done", ":invoke", ":ok", ":fail", ":info"],
        );
        let text = "{:process 0, :type 3, :f :read}";
        assert_error(&err(text), 1, col(text, "3"), &["expected :type to be one of", "integer 3"]);
    }

    #[test]
    fn a_map_value_becomes_a_list_of_pairs_in_source_order() {
        let text = "{:process 0, :type :invoke, :f :transfer, :value {:from 1, :to 2, :amount 5}}\n\
                    {:process 1, :type :ok, :f :read, :value {3 10, 0 20}}\n";
        let history = parse(text).expect("maps in :value are read");
        let pair = |k: Value, v: i64| Value::List(vec![k, Value::Int(v)]);
        assert_eq!(
            history.events[0].value,
            Value::List(vec![pair("from".into(), 1), pair("to".into(), 2), pair("amount".into(), 5)])
        );
        assert_eq!(history.events[1].value, Value::List(vec![pair(Value::Int(3), 10), pair(Value::Int(0), 20)]));
        assert_eq!(
            parse("{:process 0, :type :ok, :f :read, :value {}}").expect("empty map").events[0].value,
            Value::List(vec![])
        );
    }

    #[test]
    fn refuses_values_of_the_wrong_shape() {
        let text = "{:process 0, :type :ok, :f :read, :value {:a #{1}}}";
        assert_error(&err(text), 1, col(text, "#{"), &["unsupported value in :value", "a set"]);

        let text = "{:process 0, :type :ok, :f :read, :value [1 #{2}]}";
        assert_error(&err(text), 1, col(text, "#{"), &[":value", "a set"]);

        let text = "{:process 0, :type :ok, :f :read, :value #inst \"2015\"}";
        assert_error(&err(text), 1, col(text, "#inst"), &[":value", "tagged literal #inst"]);

        let text = "{:process 0, :type :ok, :f :read, :key {:a 1}}";
        assert_error(&err(text), 1, col(text, "{:a"), &[":key", "found a map"]);

        let text = "{:process [1], :type :ok, :f :read}";
        assert_error(
            &err(text),
            1,
            col(text, "[1]"),
            &["expected :process to be an integer or a name like :nemesis", "found a vector"],
        );

        let text = "{:process -1, :type :ok, :f :read}";
        assert_error(&err(text), 1, col(text, "-1"), &[":process", "non-negative", "-1"]);

        let text = "{:process 0, :type :ok, :f 7}";
        assert_error(&err(text), 1, col(text, "7"), &["expected :f to be a keyword", "integer 7"]);

        let text = "{:process 0, :type :ok, :f :read, :time -5}";
        assert_error(&err(text), 1, col(text, "-5"), &["expected :time to be a non-negative"]);

        let text = "{:process 0, :type :ok, :f :read, :index \"3\"}";
        assert_error(&err(text), 1, col(text, "\"3\""), &[":index", "the string \"3\""]);
    }

    #[test]
    fn refuses_floats_where_they_are_used() {
        let text = "{:process 0, :type :ok, :f :read, :value 1.5}";
        assert_error(&err(text), 1, col(text, "1.5"), &["floating-point number 1.5", ":value", "integer"]);
        let text = "{:process 0, :type :ok, :f :read, :value [1 2e-3]}";
        assert_error(&err(text), 1, col(text, "2e-3"), &["floating-point number 2e-3"]);
        let text = "{:process 1.0, :type :ok, :f :read}";
        assert_error(&err(text), 1, col(text, "1.0"), &[":process", "floating-point"]);
        // In an ignored field a float is fine.
        assert!(parse("{:process 0, :type :ok, :f :read, :latency 1.5}").is_ok());
    }

    #[test]
    fn missing_fields_are_named() {
        let text = "{:process 0, :type :ok}\n  {:process 0, :type :ok, :value 1}";
        assert_error(&err(text), 1, 1, &["missing :f"]);
        let text = "{:process 0, :f :read, :type :invoke}\n  {:process 0, :f :read, :value 1}";
        assert_error(&err(text), 2, 3, &["missing :type"]);
        assert_error(&err("[{:type :ok, :f :read}]"), 1, 2, &["missing :process"]);
    }

    #[test]
    fn unbalanced_brackets() {
        let text = "[{:process 0, :type :ok, :f :read}]]";
        assert_error(&err(text), 1, 36, &["unexpected `]`", "no open bracket"]);

        let text = "{:process 0, :type :ok, :f :read]";
        assert_error(
            &err(text),
            1,
            33,
            &["unexpected `]`", "expected `}` to close the map opened at line 1, column 1"],
        );

        let text = "[{:process 0, :type :ok, :f :read}\n{:process 0, :type :ok, :f :read}";
        assert_error(&err(text), 1, 1, &["unterminated vector", "input ended at line 2"]);

        let text = "{:process 0, :type :ok, :f [:read}";
        assert_error(&err(text), 1, 34, &["expected `]` to close the vector opened at line 1, column 28"]);

        assert_error(&err("}"), 1, 1, &["unexpected `}`"]);
    }

    #[test]
    fn odd_number_of_forms_in_a_map() {
        let text = "{:process 0, :type :ok, :f}";
        assert_error(&err(text), 1, col(text, ":f"), &["odd number of forms", ":f", "no value"]);
    }

    #[test]
    fn top_level_shape_errors() {
        let text = "[{:process 0, :type :ok, :f :read}]\n{:process 0, :type :ok, :f :read}";
        assert_error(&err(text), 2, 1, &["after the top-level vector", "expected the end of the input"]);

        let text = "{:process 0, :type :ok, :f :read}\n:oops";
        assert_error(&err(text), 2, 1, &["expected an event map", "the keyword :oops"]);

        let text = "[{:process 0, :type :ok, :f :read} 3]";
        assert_error(&err(text), 1, col(text, "3]"), &["element of the top-level vector", "integer 3"]);

        assert_error(&err("\n  \"hello\""), 2, 3, &["expected an event map", "string \"hello\""]);
    }

    #[test]
    fn lexical_errors_point_at_the_token() {
        let text = "{:process 99999999999999999999, :type :ok, :f :read}";
        assert_error(&err(text), 1, 11, &["does not fit in 64 signed bits"]);
        let text = "{:process 0, :type :ok, :f :read, :value 012}";
        assert_error(&err(text), 1, col(text, "012"), &["invalid number 012"]);
        let text = "{:process 0, :type :ok, :f :read, :value 12abc}";
        assert_error(&err(text), 1, col(text, "12abc"), &["invalid number 12abc"]);
        let text = "{:process 0, :type :ok, :f \"a\\qb\"}";
        assert_error(&err(text), 1, col(text, "\\q"), &["invalid escape `\\q`"]);
        let text = "{:process 0, :type :ok, :f \"\\u12\"}";
        assert_error(&err(text), 1, col(text, "\\u"), &["four hex digits"]);
        let text = "{:process 0, :type :ok, :f \"\\udc00\"}";
        assert_error(&err(text), 1, col(text, "\\u"), &["lone surrogate"]);
        let text = "{:process 0, :type :ok, :f :read, : 1}";
        assert_error(&err(text), 1, col(text, ": 1"), &["keyword name after `:`"]);
        let text = "{:process 0, :type :ok, :f :read, :a #_}";
        assert_error(&err(text), 1, col(text, "}"), &["expected a form after `#_`"]);
        let text = "{:process 0, :type :ok, :f :read, :a # 1}";
        assert_error(&err(text), 1, col(text, "# 1"), &["after `#`"]);
        let text = "{:process 0, :process 1, :type :ok, :f :read}";
        assert_error(&err(text), 1, 14, &["duplicate key :process"]);
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let text = "{:f \"héllo wörld\", :process 0, :type :dünn}";
        assert_error(&err(text), 1, 38, &["unknown event type", ":dünn"]);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_error(&err(&deep), 1, MAX_DEPTH + 2, &["nested more than"]);
        let discards = "#_ ".repeat(100_000);
        assert!(parse(&discards).is_err());
        let tags = "#a ".repeat(100_000);
        assert!(parse(&tags).is_err());
    }

    #[test]
    fn value_fragments_report_absolute_columns() {
        assert_eq!(parse_value_fragment("[3 0]  ", 7, 30), Ok(Value::List(vec![3.into(), 0.into()])));
        assert_eq!(parse_value_fragment(":timed-out", 1, 1), Ok(Value::from("timed-out")));
        let error = parse_value_fragment("3 4", 7, 30).expect_err("garbage");
        assert_error(&error, 7, 32, &["unexpected `4` after the value", "end of the line"]);
        let error = parse_value_fragment("[3 0", 7, 30).expect_err("unterminated");
        assert_error(&error, 7, 30, &["unterminated vector", "the line ended"]);
        let error = parse_value_fragment("  ", 7, 30).expect_err("empty");
        assert_error(&error, 7, 30, &["missing the value"]);
    }

    /// A valid multi-line history to truncate.
    fn sample() -> String {
        let mut text = kv_file("c01-bad.txt");
        text.push_str(KNOSSOS);
        text
    }

    /// A client value as EDN writes it, with the value the reader gives back.
    fn edn_value(depth: u32) -> BoxedStrategy<(String, Value)> {
        let leaf = prop_oneof![
            Just(("nil".to_owned(), Value::Nil)),
            any::<i64>().prop_map(|n| (n.to_string(), Value::Int(n))),
            "[a-z][a-z0-9-]{0,8}".prop_map(|k| (format!(":{k}"), Value::from(k.as_str()))),
            // Strings with every escape EDN has, and characters beyond ASCII.
            vec(
                prop_oneof![Just('"'), Just('\\'), Just('\n'), Just('\t'), Just('\r'), Just('é'), Just('a'), Just(' ')],
                0..8
            )
            .prop_map(|chars| {
                let text: String = chars.into_iter().collect();
                let escaped: String = text
                    .chars()
                    .map(|c| match c {
                        '"' => "\\\"".to_owned(),
                        '\\' => "\\\\".to_owned(),
                        '\n' => "\\n".to_owned(),
                        '\t' => "\\t".to_owned(),
                        '\r' => "\\r".to_owned(),
                        c => c.to_string(),
                    })
                    .collect();
                (format!("\"{escaped}\""), Value::Str(text))
            }),
        ];
        if depth == 0 {
            return leaf.boxed();
        }
        prop_oneof![
            3 => leaf,
            1 => (vec(edn_value(depth - 1), 0..4), any::<bool>()).prop_map(|(items, list)| {
                let text: Vec<String> = items.iter().map(|(t, _)| t.clone()).collect();
                let (open, close) = if list { ("(", ")") } else { ("[", "]") };
                (format!("{open}{}{close}", text.join(" ")), Value::List(items.into_iter().map(|(_, v)| v).collect()))
            }),
        ]
        .boxed()
    }

    /// Something the reader must skip inside an event map: an ignored field with a namespaced
    /// keyword, a tagged literal or a set, a discarded form, a comment.
    fn edn_noise() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            Just(" :jepsen/node \"n1\"".to_owned()),
            Just(" :when #inst \"2015-01-01T00:00:00Z\"".to_owned()),
            Just(" :id #uuid \"f81d4fae-7dec-11d0-a765-00a0c91e6bf6\"".to_owned()),
            Just(" :op #jepsen.history.Op{:a 1}".to_owned()),
            Just(" :nodes #{:n1 :n2}".to_owned()),
            Just(" #_ {:discarded [1 2]}".to_owned()),
            Just(" ; a comment\n".to_owned()),
            Just(", ".to_owned()),
        ]
    }

    /// One generated event: its EDN map and the event the reader must give back.
    fn edn_event() -> impl Strategy<Value = (String, Event)> {
        (
            0u64..50,
            prop_oneof![Just(EventType::Invoke), Just(EventType::Ok), Just(EventType::Fail), Just(EventType::Info)],
            "[a-z][a-z-]{0,6}",
            edn_value(2),
            proptest::option::of(edn_value(0)),
            proptest::option::of(0u64..1_000_000_000),
            vec(edn_noise(), 0..3),
        )
            .prop_map(|(process, kind, f, (value_text, value), key, time, noise)| {
                let kind_name = match kind {
                    EventType::Invoke => "invoke",
                    EventType::Ok => "ok",
                    EventType::Fail => "fail",
                    EventType::Info => "info",
                };
                let mut text = format!("{{:process {process}, :type :{kind_name}, :f :{f}, :value {value_text}");
                let mut event = Event::new(Process::Client(process), kind, f.as_str(), value);
                if let Some((key_text, key)) = key {
                    text.push_str(&format!(" :key {key_text}"));
                    event.key = Some(key).filter(|k| !k.is_nil());
                }
                if let Some(time) = time {
                    text.push_str(&format!(" :time {time}"));
                    event.time = Some(time);
                }
                for piece in noise {
                    text.push_str(&piece);
                }
                text.push('}');
                (text, event)
            })
    }

    proptest! {
        /// Generated EDN histories, in each layout Jepsen and Knossos write, read back to the
        /// events they were written from.
        #[test]
        fn generated_edn_round_trips(
            events in vec(edn_event(), 1..12),
            layout in 0u8..3,
            comment in any::<bool>(),
        ) {
            let maps: Vec<&str> = events.iter().map(|(text, _)| text.as_str()).collect();
            let mut text = if comment { "; generated\n".to_owned() } else { String::new() };
            text.push_str(&match layout {
                0 => format!("[{}]", maps.join("\n ")),
                1 => format!("({})", maps.join(" ")),
                _ => maps.join("\n"),
            });
            let history = parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
            let expected: Vec<Event> = events.into_iter().map(|(_, event)| event).collect();
            prop_assert_eq!(history.events, expected, "{}", text);
        }

        #[test]
        fn never_panics_on_arbitrary_text(text in any::<String>()) {
            let _ = parse(&text);
            let _ = parse_value_fragment(&text, 1, 1);
        }

        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in vec(any::<u8>(), 0..512)) {
            let text = String::from_utf8_lossy(&bytes);
            let _ = parse(&text);
            let _ = parse_value_fragment(&text, 1, 1);
        }

        #[test]
        fn never_panics_on_edn_like_noise(text in r#"[\[\](){}#_:;"\\ ,\na-z0-9.+\-NMé]{0,300}"#) {
            let _ = parse(&text);
            let _ = parse_value_fragment(&text, 1, 1);
        }

        #[test]
        fn never_panics_on_truncations(cut in 0usize..20_000, wrap in any::<bool>()) {
            let text = sample();
            let mut cut = cut.min(text.len());
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            let prefix = &text[..cut];
            let result = if wrap { parse(&format!("[{prefix}")) } else { parse(prefix) };
            if let Err(error) = result {
                prop_assert!(error.line >= 1 && error.column >= 1);
                prop_assert!(!error.message.is_empty());
            }
        }
    }
}
