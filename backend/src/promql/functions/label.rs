//! `label_replace` and `label_join` (upstream functions.go `funcLabelReplace`,
//! `funcLabelJoin`). Writing `__name__` keeps the name through the end of the query.

use regex::Regex;
use shared::labels::{Label, Labels};

use super::{Evaluator, arg, vector_arg};
use crate::promql::EngineError;
use crate::promql::parser::literals::go_quote_bytes;
use crate::promql::parser::{Call, Expr};
use crate::promql::value::Value;

/// Argument `i` as a string; one that is not valid UTF-8 can be no label name or value and
/// fails, naming what it was for (`what`).
fn string_arg(
    ev: &Evaluator,
    c: &Call,
    i: usize,
    t_ms: i64,
    what: &str,
) -> Result<String, EngineError> {
    let expr = arg(c, i)?;
    if let Some(bytes) = not_utf8(expr) {
        return Err(EngineError::Runtime(format!(
            "invalid {what} in {}(): {}",
            c.function.name,
            go_quote_bytes(bytes)
        )));
    }
    match ev.eval(expr, t_ms)? {
        Value::String(s) => Ok(s),
        other => Err(super::type_error(c, "string", &other)),
    }
}

/// The bytes of a string literal (in parentheses or not) that is not valid UTF-8.
fn not_utf8(expr: &Expr) -> Option<&[u8]> {
    match expr {
        Expr::String(s) => s.bytes.as_deref(),
        Expr::Paren(p) => not_utf8(&p.expr),
        _ => None,
    }
}

/// Whether `name` is a valid label name (Prometheus 3 accepts any UTF-8 but the empty name).
fn valid_label_name(name: &str) -> bool {
    !name.is_empty()
}

/// Sets `name` to `value` (removing it when empty); a written name survives name removal.
fn set_label(labels: &mut Labels, drop_name: &mut bool, name: &str, value: &str) {
    let mut edited: Vec<Label> = labels.iter().filter(|l| l.name != name).cloned().collect();
    if !value.is_empty() {
        edited.push(Label::new(name, value));
    }
    *labels = Labels::from_unsorted(edited);
    if name == "__name__" {
        *drop_name = false;
    }
}

/// `label_replace(v, dst, replacement, src, regex)` at `t_ms`.
pub(super) fn replace(ev: &Evaluator, c: &Call, t_ms: i64) -> Result<Value, EngineError> {
    let edit = Edit::replace(ev, c, t_ms)?;
    edit_vector(ev, c, t_ms, &edit)
}

/// `label_join(v, dst, separator, src...)` at `t_ms`.
pub(super) fn join(ev: &Evaluator, c: &Call, t_ms: i64) -> Result<Value, EngineError> {
    let edit = Edit::join(ev, c, t_ms)?;
    edit_vector(ev, c, t_ms, &edit)
}

fn edit_vector(ev: &Evaluator, c: &Call, t_ms: i64, edit: &Edit) -> Result<Value, EngineError> {
    let mut v = vector_arg(ev, c, 0, t_ms)?;
    for e in &mut v {
        edit.apply(&mut e.labels, &mut e.drop_name);
    }
    Ok(Value::Vector(v))
}

/// What `label_replace` or `label_join` does to each element's labels, from the call's string
/// arguments.
pub(super) enum Edit {
    /// `label_replace`.
    Replace {
        dst: String,
        replacement: String,
        src: String,
        regex: Regex,
    },
    /// `label_join`.
    Join {
        dst: String,
        separator: String,
        sources: Vec<String>,
    },
}

impl Edit {
    /// The edit of `label_replace` call `c`, its arguments evaluated at `t_ms`.
    pub(super) fn replace(ev: &Evaluator, c: &Call, t_ms: i64) -> Result<Self, EngineError> {
        let dst = string_arg(ev, c, 1, t_ms, "destination label name")?;
        let replacement = string_arg(ev, c, 2, t_ms, "replacement")?;
        let src = string_arg(ev, c, 3, t_ms, "source label name")?;
        let pattern = string_arg(ev, c, 4, t_ms, "regular expression")?;
        let regex = Regex::new(&format!("^(?s:{pattern})$")).map_err(|e| {
            EngineError::Runtime(format!(
                "invalid regular expression in label_replace(): {e}"
            ))
        })?;
        if !valid_label_name(&dst) {
            return Err(EngineError::Runtime(format!(
                "invalid destination label name in label_replace(): {dst}"
            )));
        }
        Ok(Edit::Replace {
            dst,
            replacement,
            src,
            regex,
        })
    }

    /// The edit of `label_join` call `c`, its arguments evaluated at `t_ms`.
    pub(super) fn join(ev: &Evaluator, c: &Call, t_ms: i64) -> Result<Self, EngineError> {
        let dst = string_arg(ev, c, 1, t_ms, "destination label name")?;
        let separator = string_arg(ev, c, 2, t_ms, "separator")?;
        let sources = (3..c.args.len())
            .map(|i| string_arg(ev, c, i, t_ms, "source label name"))
            .collect::<Result<Vec<_>, _>>()?;
        if !valid_label_name(&dst) {
            return Err(EngineError::Runtime(format!(
                "invalid destination label name in label_join(): {dst}"
            )));
        }
        Ok(Edit::Join {
            dst,
            separator,
            sources,
        })
    }

    /// Edits one element's (or series') labels and name-dropping flag.
    pub(super) fn apply(&self, labels: &mut Labels, drop_name: &mut bool) {
        match self {
            Edit::Replace {
                dst,
                replacement,
                src,
                regex,
            } => {
                let source = labels.get(src).unwrap_or_default().to_owned();
                if let Some(captures) = regex.captures(&source) {
                    let mut value = String::new();
                    captures.expand(replacement, &mut value);
                    set_label(labels, drop_name, dst, &value);
                }
            }
            Edit::Join {
                dst,
                separator,
                sources,
            } => {
                let parts: Vec<&str> = sources
                    .iter()
                    .map(|s| labels.get(s).unwrap_or_default())
                    .collect();
                let value = parts.join(separator);
                set_label(labels, drop_name, dst, &value);
            }
        }
    }
}
