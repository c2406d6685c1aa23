//! The signatures of PromQL's functions: argument types, arity and return type.
//!
//! The facts are those of Prometheus 3.14 `promql/parser/functions.go`; the parser checks calls
//! against this table (as `checkAST` does), and the engine looks its implementations up by the
//! same names. Nothing here evaluates anything.

use super::ast::ValueType;

/// How many arguments a function takes beyond its fixed ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arity {
    /// Exactly the listed arguments.
    Fixed,
    /// The last listed argument may be left out or repeated up to `n` times in all
    /// (`Variadic: n` upstream, n > 0).
    UpTo(usize),
    /// The last listed argument may be left out or repeated any number of times (`Variadic: -1`).
    Unbounded,
}

/// One function's signature.
#[derive(Debug, PartialEq, Eq)]
pub struct Function {
    /// The name as called.
    pub name: &'static str,
    /// Argument types; with a variadic arity, the last one repeats.
    pub arg_types: &'static [ValueType],
    /// Optional and repeated arguments.
    pub arity: Arity,
    /// What the call evaluates to.
    pub return_type: ValueType,
    /// Behind `--enable-feature=promql-experimental-functions` upstream.
    pub experimental: bool,
}

impl Function {
    /// The fewest arguments a call may have.
    pub fn min_args(&self) -> usize {
        match self.arity {
            Arity::Fixed => self.arg_types.len(),
            Arity::UpTo(_) | Arity::Unbounded => self.arg_types.len().saturating_sub(1),
        }
    }

    /// The most arguments a call may have; `None` for no limit.
    pub fn max_args(&self) -> Option<usize> {
        match self.arity {
            Arity::Fixed => Some(self.arg_types.len()),
            Arity::UpTo(n) => Some(self.min_args() + n),
            Arity::Unbounded => None,
        }
    }

    /// The expected type of argument `index`, if the function takes that many.
    pub fn arg_type(&self, index: usize) -> Option<ValueType> {
        match (self.arg_types.get(index), self.arity) {
            (Some(t), _) => Some(*t),
            (None, Arity::Fixed) => None,
            (None, _) => self.arg_types.last().copied(),
        }
    }
}

/// Looks a function up by its exact (case-sensitive) name.
pub fn lookup(name: &str) -> Option<&'static Function> {
    FUNCTIONS
        .binary_search_by(|f| f.name.cmp(name))
        .ok()
        .map(|i| &FUNCTIONS[i])
}

/// Every function, sorted by name.
pub fn all() -> &'static [Function] {
    FUNCTIONS
}

const S: ValueType = ValueType::Scalar;
const V: ValueType = ValueType::InstantVector;
const M: ValueType = ValueType::RangeVector;
const T: ValueType = ValueType::String;

const fn f(
    name: &'static str,
    arg_types: &'static [ValueType],
    arity: Arity,
    return_type: ValueType,
) -> Function {
    Function {
        name,
        arg_types,
        arity,
        return_type,
        experimental: false,
    }
}

const fn x(
    name: &'static str,
    arg_types: &'static [ValueType],
    arity: Arity,
    return_type: ValueType,
) -> Function {
    Function {
        name,
        arg_types,
        arity,
        return_type,
        experimental: true,
    }
}

/// Sorted by name (a unit test checks), so [`lookup`] can binary-search.
static FUNCTIONS: &[Function] = &[
    f("abs", &[V], Arity::Fixed, V),
    f("absent", &[V], Arity::Fixed, V),
    f("absent_over_time", &[M], Arity::Fixed, V),
    f("acos", &[V], Arity::Fixed, V),
    f("acosh", &[V], Arity::Fixed, V),
    f("asin", &[V], Arity::Fixed, V),
    f("asinh", &[V], Arity::Fixed, V),
    f("atan", &[V], Arity::Fixed, V),
    f("atanh", &[V], Arity::Fixed, V),
    f("avg_over_time", &[M], Arity::Fixed, V),
    f("ceil", &[V], Arity::Fixed, V),
    f("changes", &[M], Arity::Fixed, V),
    f("clamp", &[V, S, S], Arity::Fixed, V),
    f("clamp_max", &[V, S], Arity::Fixed, V),
    f("clamp_min", &[V, S], Arity::Fixed, V),
    f("cos", &[V], Arity::Fixed, V),
    f("cosh", &[V], Arity::Fixed, V),
    f("count_over_time", &[M], Arity::Fixed, V),
    f("day_of_month", &[V], Arity::UpTo(1), V),
    f("day_of_week", &[V], Arity::UpTo(1), V),
    f("day_of_year", &[V], Arity::UpTo(1), V),
    f("days_in_month", &[V], Arity::UpTo(1), V),
    f("deg", &[V], Arity::Fixed, V),
    f("delta", &[M], Arity::Fixed, V),
    f("deriv", &[M], Arity::Fixed, V),
    x("double_exponential_smoothing", &[M, S, S], Arity::Fixed, V),
    x("end", &[], Arity::Fixed, S),
    f("exp", &[V], Arity::Fixed, V),
    f("first_over_time", &[M], Arity::Fixed, V),
    f("floor", &[V], Arity::Fixed, V),
    f("histogram_avg", &[V], Arity::Fixed, V),
    f("histogram_count", &[V], Arity::Fixed, V),
    f("histogram_fraction", &[S, S, V], Arity::Fixed, V),
    f("histogram_quantile", &[S, V], Arity::Fixed, V),
    x("histogram_quantiles", &[V, T, S, S], Arity::UpTo(9), V),
    f("histogram_stddev", &[V], Arity::Fixed, V),
    f("histogram_stdvar", &[V], Arity::Fixed, V),
    f("histogram_sum", &[V], Arity::Fixed, V),
    f("hour", &[V], Arity::UpTo(1), V),
    f("idelta", &[M], Arity::Fixed, V),
    f("increase", &[M], Arity::Fixed, V),
    x("info", &[V, V], Arity::UpTo(1), V),
    f("irate", &[M], Arity::Fixed, V),
    f("label_join", &[V, T, T, T], Arity::Unbounded, V),
    f("label_replace", &[V, T, T, T, T], Arity::Fixed, V),
    f("last_over_time", &[M], Arity::Fixed, V),
    f("ln", &[V], Arity::Fixed, V),
    f("log10", &[V], Arity::Fixed, V),
    f("log2", &[V], Arity::Fixed, V),
    x("mad_over_time", &[M], Arity::Fixed, V),
    x("max_of", &[S, S], Arity::Fixed, S),
    f("max_over_time", &[M], Arity::Fixed, V),
    x("min_of", &[S, S], Arity::Fixed, S),
    f("min_over_time", &[M], Arity::Fixed, V),
    f("minute", &[V], Arity::UpTo(1), V),
    f("month", &[V], Arity::UpTo(1), V),
    f("pi", &[], Arity::Fixed, S),
    f("predict_linear", &[M, S], Arity::Fixed, V),
    f("present_over_time", &[M], Arity::Fixed, V),
    f("quantile_over_time", &[S, M], Arity::Fixed, V),
    f("rad", &[V], Arity::Fixed, V),
    x("range", &[], Arity::Fixed, S),
    f("rate", &[M], Arity::Fixed, V),
    f("resets", &[M], Arity::Fixed, V),
    f("round", &[V, S], Arity::UpTo(1), V),
    f("scalar", &[V], Arity::Fixed, S),
    f("sgn", &[V], Arity::Fixed, V),
    f("sin", &[V], Arity::Fixed, V),
    f("sinh", &[V], Arity::Fixed, V),
    f("sort", &[V], Arity::Fixed, V),
    x("sort_by_label", &[V, T], Arity::Unbounded, V),
    x("sort_by_label_desc", &[V, T], Arity::Unbounded, V),
    f("sort_desc", &[V], Arity::Fixed, V),
    f("sqrt", &[V], Arity::Fixed, V),
    x("start", &[], Arity::Fixed, S),
    x("start_timestamp", &[V], Arity::Fixed, V),
    f("stddev_over_time", &[M], Arity::Fixed, V),
    f("stdvar_over_time", &[M], Arity::Fixed, V),
    x("step", &[], Arity::Fixed, S),
    f("sum_over_time", &[M], Arity::Fixed, V),
    f("tan", &[V], Arity::Fixed, V),
    f("tanh", &[V], Arity::Fixed, V),
    f("time", &[], Arity::Fixed, S),
    f("timestamp", &[V], Arity::Fixed, V),
    x("ts_of_first_over_time", &[M], Arity::Fixed, V),
    x("ts_of_last_over_time", &[M], Arity::Fixed, V),
    x("ts_of_max_over_time", &[M], Arity::Fixed, V),
    x("ts_of_min_over_time", &[M], Arity::Fixed, V),
    f("vector", &[S], Arity::Fixed, V),
    f("year", &[V], Arity::UpTo(1), V),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        assert!(FUNCTIONS.windows(2).all(|w| w[0].name < w[1].name));
    }

    #[test]
    fn lookup_finds_functions_and_arity() {
        let rate = lookup("rate").unwrap();
        assert_eq!((rate.min_args(), rate.max_args()), (1, Some(1)));
        assert_eq!(rate.arg_type(0), Some(M));
        let round = lookup("round").unwrap();
        assert_eq!((round.min_args(), round.max_args()), (1, Some(2)));
        let join = lookup("label_join").unwrap();
        assert_eq!((join.min_args(), join.max_args()), (3, None));
        assert_eq!(join.arg_type(7), Some(T));
        assert!(lookup("sort_by_label").unwrap().experimental);
        assert!(lookup("Rate").is_none());
        assert_eq!(all().len(), FUNCTIONS.len());
    }
}
