//! Helpers for the integration tests: run the real `bouncekit` binary in its own temporary
//! directory with a cleared environment, parse its JSONL output, and compare records field by
//! field, printing expected and actual side by side on a mismatch. `mailstack` runs the private
//! Postfix and Dovecot that the tests of real delivery reports talk to; `dns` runs the private
//! dnsmasq that the tests of `validate` ask.

pub mod dns;
pub mod mailstack;

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

/// The binary under test, built by cargo for this integration test.
pub const BIN: &str = env!("CARGO_BIN_EXE_bouncekit");

/// No single run may take longer than this (a hang is a failure, not a stuck CI job).
const TIMEOUT: Duration = Duration::from_secs(120);

/// The hand-written fixtures under tests/fixtures/.
pub fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join(name)
}

/// The bytes of a fixture.
pub fn fixture_bytes(name: &str) -> Vec<u8> {
    let path = fixture_path(name);
    fs::read(&path).unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()))
}

/// A temporary working directory for one test; inputs are copied or written into it and the
/// binary runs with it as the current directory, so sources are short relative paths.
pub struct Sandbox {
    dir: TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        Sandbox {
            dir: tempfile::tempdir().expect("create a temporary directory"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Copies a fixture into the sandbox under the same name and returns that name.
    pub fn fixture(&self, name: &str) -> String {
        self.write(name, &fixture_bytes(name))
    }

    /// Writes `bytes` to `rel` (creating parent folders) and returns `rel`.
    pub fn write(&self, rel: &str, bytes: &[u8]) -> String {
        let path = self.dir.path().join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("create parent folders");
        }
        fs::write(&path, bytes).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        rel.to_string()
    }

    /// Runs `bouncekit ARGS` with stdin closed.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_inner(args, None)
    }

    /// Runs `bouncekit ARGS` with `stdin` on standard input.
    pub fn run_with_stdin(&self, args: &[&str], stdin: &[u8]) -> Run {
        self.run_inner(args, Some(stdin))
    }

    /// Runs `bouncekit ARGS` with stdin closed and these environment variables only.
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        self.run_full(args, None, env)
    }

    fn run_inner(&self, args: &[&str], stdin: Option<&[u8]>) -> Run {
        self.run_full(args, stdin, &[])
    }

    fn run_full(&self, args: &[&str], stdin: Option<&[u8]>, env: &[(&str, &str)]) -> Run {
        let mut cmd = assert_cmd::Command::new(BIN);
        cmd.args(args)
            .env_clear()
            .envs(env.iter().copied())
            .current_dir(self.dir.path())
            .timeout(TIMEOUT);
        if let Some(bytes) = stdin {
            cmd.write_stdin(bytes.to_vec());
        }
        let out = cmd.output().expect("run bouncekit");
        let run = Run {
            args: args.iter().map(|a| a.to_string()).collect(),
            code: out.status.code(),
            stdout: out.stdout,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        run.assert_no_panic();
        run
    }
}

/// What one run of the binary did.
pub struct Run {
    pub args: Vec<String>,
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Run {
    fn describe(&self) -> String {
        format!(
            "bouncekit {}\nexit: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.args.join(" "),
            self.code,
            String::from_utf8_lossy(&self.stdout),
            self.stderr
        )
    }

    pub fn assert_no_panic(&self) {
        assert!(
            !self.stderr.contains("panicked") && !self.stderr.contains("RUST_BACKTRACE"),
            "the binary panicked:\n{}",
            self.describe()
        );
        // 101 is the exit status of a panicking Rust program; None means killed by a signal.
        assert!(
            self.code.is_some() && self.code != Some(101),
            "the binary crashed or was killed:\n{}",
            self.describe()
        );
    }

    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "expected exit status {code}:\n{}",
            self.describe()
        );
        self
    }

    /// Asserts exit status 0 and returns the JSONL records.
    pub fn ok_records(&self) -> Vec<Value> {
        self.assert_code(0);
        self.records()
    }

    /// The JSONL records on stdout (each line must be one JSON object).
    pub fn records(&self) -> Vec<Value> {
        let text = String::from_utf8(self.stdout.clone())
            .unwrap_or_else(|e| panic!("stdout is not UTF-8 ({e}):\n{}", self.describe()));
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let v: Value = serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}\n{}", self.describe()));
                assert!(v.is_object(), "not a JSON object: {l}");
                v
            })
            .collect()
    }

    /// Asserts that stderr counts exactly one bad (unreadable) message, e.g. "1 unreadable".
    pub fn assert_stderr_counts_one_bad_message(&self) {
        let re = regex::Regex::new(
            r"(?i)\b1\s+(?:unreadable|errors?|bad|invalid|failed)\b|(?:unreadable|errors?|bad|invalid|failed)\s*[:=]?\s*1\b",
        )
        .unwrap();
        assert!(
            re.is_match(&self.stderr),
            "stderr does not count the one bad message:\n{}",
            self.describe()
        );
    }
}

/// What a field of a record should be.
pub enum Want {
    /// Exactly this JSON value.
    Is(Value),
    /// A Message-ID, with or without its angle brackets.
    MsgId(&'static str),
    /// One of these strings.
    OneOf(Vec<&'static str>),
    /// Anything (including null) but these strings.
    NoneOf(Vec<&'static str>),
    /// A one-line string that contains every one of these.
    LineWith(Vec<&'static str>),
    /// A non-empty string.
    NonEmpty,
    /// Null or left out (how a record says "no error").
    Missing,
    /// Null, or exactly this string.
    NullOr(&'static str),
}

pub fn is(v: impl Into<Value>) -> Want {
    Want::Is(v.into())
}
pub fn null_or(v: &'static str) -> Want {
    Want::NullOr(v)
}
pub fn msgid(id: &'static str) -> Want {
    Want::MsgId(id)
}
pub fn one_of(options: &[&'static str]) -> Want {
    Want::OneOf(options.to_vec())
}
pub fn none_of(options: &[&'static str]) -> Want {
    Want::NoneOf(options.to_vec())
}
pub fn line_with(parts: &[&'static str]) -> Want {
    Want::LineWith(parts.to_vec())
}
pub fn non_empty() -> Want {
    Want::NonEmpty
}
pub fn missing() -> Want {
    Want::Missing
}

impl Want {
    fn accepts(&self, actual: Option<&Value>) -> bool {
        let text = actual.and_then(Value::as_str);
        match self {
            Want::Is(v) => actual.unwrap_or(&Value::Null) == v,
            Want::MsgId(id) => text.is_some_and(|t| {
                let t = t.trim();
                t == *id || t.strip_prefix('<').and_then(|t| t.strip_suffix('>')) == Some(id)
            }),
            Want::OneOf(options) => text.is_some_and(|t| options.contains(&t)),
            Want::NoneOf(options) => !text.is_some_and(|t| options.contains(&t)),
            Want::LineWith(parts) => text.is_some_and(|t| {
                !t.contains('\n') && !t.contains('\r') && parts.iter().all(|p| t.contains(p))
            }),
            Want::NonEmpty => text.is_some_and(|t| !t.trim().is_empty()),
            Want::Missing => actual.is_none_or(Value::is_null),
            Want::NullOr(v) => actual.is_none_or(Value::is_null) || text == Some(*v),
        }
    }

    fn describe(&self) -> String {
        match self {
            Want::Is(v) => v.to_string(),
            Want::MsgId(id) => format!("<{id}> (brackets optional)"),
            Want::OneOf(o) => format!("one of {o:?}"),
            Want::NoneOf(o) => format!("none of {o:?}"),
            Want::LineWith(p) => format!("one line with {p:?}"),
            Want::NonEmpty => "a non-empty string".into(),
            Want::Missing => "null or absent".into(),
            Want::NullOr(v) => format!("null or {v:?}"),
        }
    }
}

/// Checks every listed field of `record`; on a mismatch panics with a side-by-side table of
/// expected and actual values (and the whole record).
#[track_caller]
pub fn check(what: &str, record: &Value, wants: &[(&str, Want)]) {
    let mut table = String::new();
    let mut bad = 0;
    for (field, want) in wants {
        let actual = record.get(*field);
        let ok = want.accepts(actual);
        if !ok {
            bad += 1;
        }
        let shown = actual.map_or_else(|| "(absent)".to_string(), Value::to_string);
        let _ = writeln!(
            table,
            "{} {:<20} expected {:<45} actual {}",
            if ok { "  " } else { "✗ " },
            field,
            want.describe(),
            shown
        );
    }
    if bad > 0 {
        panic!(
            "{what}: {bad} field(s) differ\n{table}\nrecord: {}",
            serde_json::to_string_pretty(record).unwrap()
        );
    }
}

/// The one record of a run that must yield exactly one.
#[track_caller]
pub fn single(records: &[Value]) -> &Value {
    assert_eq!(
        records.len(),
        1,
        "expected exactly one record, got {}:\n{}",
        records.len(),
        records
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
    &records[0]
}

/// The record about `recipient`, which must exist.
#[track_caller]
pub fn about<'a>(records: &'a [Value], recipient: &str) -> &'a Value {
    records
        .iter()
        .find(|r| r["recipient"] == recipient)
        .unwrap_or_else(|| {
            panic!(
                "no record about {recipient}:\n{}",
                records
                    .iter()
                    .map(Value::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        })
}

/// The string value of a field, or "" when null/absent.
pub fn text<'a>(record: &'a Value, field: &str) -> &'a str {
    record.get(field).and_then(Value::as_str).unwrap_or("")
}

/// True when the record carries a non-empty `error`.
pub fn has_error(record: &Value) -> bool {
    !text(record, "error").trim().is_empty()
}
