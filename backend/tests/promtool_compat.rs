//! `promtool query` (Prometheus 2.42's client, `/usr/bin/promtool`) pointed at `chorus query`
//! prints what it prints when pointed at a Prometheus holding the same data: `instant`, `range`,
//! `series` and `labels`, in promtool's PromQL text format and as JSON. The querier
//! deduplicates two replicas behind `chorus sidecar`s ([`common::stack`]) over the data set of
//! [`common::dataset`].
//!
//! Only ordering is normalised, and only where the output's order is not defined: the elements of
//! an instant vector (Prometheus keeps the evaluation's order, which the API does not specify,
//! except after `sort`/`sort_desc`) and the series of `promtool query series`. Range answers
//! (promtool sorts the matrix) and label values (sorted by the API) are compared as printed.
//!
//! Values are compared as printed too, so the expressions avoid sums of values that are not
//! exact in binary: Prometheus 3 (which Chorus follows) adds with Kahan compensation in `sum`,
//! `avg` and `*_over_time`, Prometheus 2.42 does not, and the last digit may differ
//! (`3.2` vs `3.1999999999999997`). `promql_differential` compares those within a tolerance.
//!
//! When both fail, promtool's error text is compared too, except for range queries: Prometheus
//! 2.42 reports an expression `NewRangeQuery` refuses as plain `bad_data`, Prometheus 3 (and
//! Chorus) as `invalid parameter "query": ...` (web/api/v1/api.go `queryRange`), as both do for
//! instant queries.

mod common;

use std::process::Command;

use common::PROMTOOL;
use common::dataset::Dataset;
use common::stack::ReplicatedStack;
use serde_json::Value;

/// What promtool did: exit success, stdout, stderr.
#[derive(Debug, Clone, PartialEq)]
struct Run {
    success: bool,
    stdout: String,
    stderr: String,
}

/// Runs `promtool query <subcommand> <flags...> <server> [<argument>]`.
async fn promtool(case: &Case, server: &str) -> Run {
    let mut command = Command::new(PROMTOOL);
    command
        .args(["query", case.subcommand])
        .args(&case.flags)
        .arg(server)
        .args(&case.argument);
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("promtool task")
        .expect("run promtool");
    Run {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// How to make an output comparable.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Order {
    /// The output's order is defined: compare as printed.
    AsPrinted,
    /// PromQL text with one element per line in no defined order: sort the lines.
    Lines,
    /// JSON array in no defined order: sort its elements.
    JsonArray,
}

fn normalise(stdout: &str, order: Order) -> String {
    match order {
        Order::AsPrinted => stdout.to_string(),
        Order::Lines => {
            let mut lines: Vec<&str> = stdout.lines().collect();
            lines.sort_unstable();
            lines.join("\n")
        }
        Order::JsonArray => match serde_json::from_str::<Value>(stdout) {
            Ok(Value::Array(elements)) => {
                let mut elements: Vec<String> = elements.iter().map(Value::to_string).collect();
                elements.sort_unstable();
                elements.join("\n")
            }
            _ => stdout.to_string(),
        },
    }
}

/// `secs.mmm` of a time in ms.
fn seconds(t_ms: i64) -> String {
    format!("{}.{:03}", t_ms.div_euclid(1000), t_ms.rem_euclid(1000))
}

/// One promtool invocation to compare.
struct Case {
    subcommand: &'static str,
    flags: Vec<String>,
    /// The expression or label name after the server.
    argument: Option<String>,
    order: Order,
    /// Whether Prometheus is expected to answer with data (guards against comparing two empty
    /// outputs).
    nonempty: bool,
}

fn cases(base_ms: i64) -> Vec<Case> {
    let mid = seconds(base_ms + 3_611_421);
    let late = seconds(base_ms + 6_100_777);
    let (start, end) = (
        seconds(base_ms + 1_200_313),
        seconds(base_ms + 1_200_313 + 40 * 37_000),
    );
    let mut cases = Vec::new();
    let instant = [
        ("demo_requests_total", true),
        (r#"demo_temperature_celsius{room=~"c.*|y.*"}"#, true),
        ("sum by (job) (demo_requests_total offset 10m)", true),
        ("irate(demo_requests_total[1m])", true),
        (
            "demo_requests_total * on(job, instance) group_left(version) demo_build_info",
            true,
        ),
        ("sort_desc(demo_temperature_celsius)", true),
        ("topk(3, irate(demo_requests_total[1m]))", true),
        (r#"count_values("len", demo_queue_length)"#, true),
        ("demo_temperature_celsius / 0", true),
        ("scalar(sum(demo_queue_length))", true),
        ("demo_temperature_celsius[1m]", true),
        ("absent(nonexistent_metric)", true),
        ("nonexistent_metric", false),
        ("sum(", false),
    ];
    for (expr, nonempty) in instant {
        let order = if expr.starts_with("sort") {
            Order::AsPrinted
        } else {
            Order::Lines
        };
        for time in [&mid, &late] {
            cases.push(Case {
                subcommand: "instant",
                flags: vec![format!("--time={time}")],
                argument: Some(expr.into()),
                order,
                nonempty,
            });
        }
    }
    for expr in ["demo_requests_total", "rate(demo_requests_total[5m]) > 1"] {
        let order = if expr.starts_with("sort") {
            Order::AsPrinted
        } else {
            Order::JsonArray
        };
        cases.push(Case {
            subcommand: "instant",
            flags: vec![format!("--time={mid}"), "-o".into(), "json".into()],
            argument: Some(expr.into()),
            order,
            nonempty: true,
        });
    }
    for (expr, step) in [
        ("demo_temperature_celsius", "37s"),
        ("sum by (job) (demo_requests_total)", "37s"),
        ("rate(demo_requests_total[5m])", "37s"),
        ("max_over_time(demo_sparse_gauge[10m])", "1m13s"),
        ("sum_over_time(demo_queue_length[10m:1m])", "37s"),
        ("time() - timestamp(demo_sparse_gauge)", "2m"),
        ("demo_temperature_celsius[1m]", "37s"),
        ("rate(demo_requests_total)", "37s"),
    ] {
        cases.push(Case {
            subcommand: "range",
            flags: vec![
                format!("--start={start}"),
                format!("--end={end}"),
                format!("--step={step}"),
            ],
            argument: Some(expr.into()),
            order: Order::AsPrinted,
            nonempty: !expr.ends_with(']') && !expr.ends_with("total)"),
        });
    }
    cases.push(Case {
        subcommand: "range",
        flags: vec![
            format!("--start={start}"),
            format!("--end={end}"),
            "--step=37s".into(),
            "-o".into(),
            "json".into(),
        ],
        argument: Some("rate(demo_requests_total[5m])".into()),
        order: Order::AsPrinted,
        nonempty: true,
    });
    let window = [format!("--start={start}"), format!("--end={end}")];
    for matchers in [
        &["demo_requests_total"][..],
        &[r#"{__name__=~"demo_request_duration_seconds_(sum|count)"}"#],
        &[r#"demo_queue_length{queue!="q-1"}"#, "demo_build_info"],
        &["nonexistent_metric"],
    ] {
        let mut flags: Vec<String> = matchers.iter().map(|m| format!("--match={m}")).collect();
        flags.extend(window.iter().cloned());
        cases.push(Case {
            subcommand: "series",
            flags,
            argument: None,
            order: Order::Lines,
            nonempty: matchers[0] != "nonexistent_metric",
        });
    }
    for (name, matcher) in [
        ("job", None),
        ("__name__", None),
        ("le", None),
        ("instance", Some("demo_sparse_gauge")),
        ("queue", Some(r#"demo_queue_length{queue=~"q.[23]"}"#)),
    ] {
        let mut flags: Vec<String> = window.to_vec();
        if let Some(matcher) = matcher {
            flags.push(format!("--match={matcher}"));
        }
        cases.push(Case {
            subcommand: "labels",
            flags,
            argument: Some(name.into()),
            order: Order::AsPrinted,
            nonempty: true,
        });
    }
    cases
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promtool_prints_the_same_for_chorus_and_prometheus() {
    let dataset = Dataset::generate();
    let stack = ReplicatedStack::start(&dataset.backfill).await;
    let (chorus, prometheus) = (stack.query.http.clone(), stack.reference.url.clone());

    let cases = cases(dataset.base_s * 1000);
    let mut differences = Vec::new();
    for case in &cases {
        let ours = promtool(case, &chorus).await;
        let theirs = promtool(case, &prometheus).await;
        let what = format!(
            "promtool query {} {:?} {:?}",
            case.subcommand, case.flags, case.argument
        );
        if case.nonempty {
            assert!(
                theirs.success && !theirs.stdout.trim().is_empty(),
                "{what}: Prometheus printed nothing: {theirs:?}"
            );
        }
        if ours.success != theirs.success {
            differences.push(format!(
                "{what}: exit success {} vs {}\n  chorus: {}{}\n  prometheus: {}{}",
                ours.success,
                theirs.success,
                ours.stdout,
                ours.stderr,
                theirs.stdout,
                theirs.stderr
            ));
        } else if !ours.success && case.subcommand != "range" && ours.stderr != theirs.stderr {
            differences.push(format!(
                "{what}: error\n  chorus: {}\n  prometheus: {}",
                ours.stderr, theirs.stderr
            ));
        } else if normalise(&ours.stdout, case.order) != normalise(&theirs.stdout, case.order) {
            differences.push(format!(
                "{what}:\n  chorus:\n{}\n  prometheus:\n{}",
                ours.stdout, theirs.stdout
            ));
        }
    }
    println!(
        "promtool: {} invocations, {} identical",
        cases.len(),
        cases.len() - differences.len()
    );
    assert!(differences.is_empty(), "{}", differences.join("\n\n"));
    drop(stack);
}
