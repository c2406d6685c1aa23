//! The Table tab: an instant query's result as rows of series and value. Vectors show one row
//! per series (native histograms as count, sum and buckets), matrices their raw samples with
//! timestamps, scalars and strings a single row. It knows nothing of how the query ran.

use leptos::prelude::*;
use shared::query_result::{FloatPoint, HistogramPoint, HistogramValue, QueryData, series_name};

/// At most this many rows are rendered; more would make the page slow to no one's benefit.
const MAX_ROWS: usize = 10_000;

fn sample_text(p: &FloatPoint) -> String {
    format!("{} @{}", p.1, p.0)
}

fn histogram_view(h: &HistogramPoint) -> impl IntoView + use<> {
    let v = &h.1;
    let buckets: Vec<(String, String)> = v
        .buckets
        .iter()
        .map(|(rule, lo, hi, count)| (HistogramValue::bucket_bounds(*rule, lo, hi), count.clone()))
        .collect();
    view! {
        <div class="histogram">
            <div>"count: "{v.count.clone()}" sum: "{v.sum.clone()}</div>
            <table class="buckets">
                {buckets.into_iter().map(|(b, c)| view! { <tr><td>{b}</td><td>{c}</td></tr> }).collect_view()}
            </table>
        </div>
    }
}

/// The result table of `data`.
#[component]
pub fn ResultTable(data: QueryData) -> impl IntoView {
    let total = data.series_count();
    let rows = match data {
        QueryData::Vector(samples) => samples
            .into_iter()
            .take(MAX_ROWS)
            .map(|s| {
                let value = match (&s.value, &s.histogram) {
                    (_, Some(h)) => histogram_view(h).into_any(),
                    (Some(v), None) => v.1.clone().into_any(),
                    (None, None) => "".into_any(),
                };
                view! { <tr><td class="series">{series_name(&s.metric)}</td><td class="value">{value}</td></tr> }
            })
            .collect_view()
            .into_any(),
        QueryData::Matrix(series) => series
            .into_iter()
            .take(MAX_ROWS)
            .map(|s| {
                let mut lines: Vec<String> = s.values.iter().map(sample_text).collect();
                lines.extend(
                    s.histograms
                        .iter()
                        .map(|h| format!("count {} sum {} @{}", h.1.count, h.1.sum, h.0)),
                );
                view! {
                    <tr>
                        <td class="series">{series_name(&s.metric)}</td>
                        <td class="value">{lines.into_iter().map(|l| view! { <div>{l}</div> }).collect_view()}</td>
                    </tr>
                }
            })
            .collect_view()
            .into_any(),
        QueryData::Scalar(p) => view! { <tr><td class="series">"scalar"</td><td class="value">{p.1}</td></tr> }.into_any(),
        QueryData::String(p) => view! { <tr><td class="series">"string"</td><td class="value">{p.1}</td></tr> }.into_any(),
    };
    let truncated = (total > MAX_ROWS).then(|| {
        view! {
            <div class="notice">
                {format!("Showing the first {MAX_ROWS} of {total} series; refine the query to see the rest.")}
            </div>
        }
    });
    view! {
        {truncated}
        <table class="result-table" data-testid="result-table">
            <thead><tr><th>"Series"</th><th>"Value"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}
