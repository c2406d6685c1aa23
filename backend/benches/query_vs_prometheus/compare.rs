//! Range-query answers in a comparable form, and whether two of them agree: the same series
//! (by label set), and at each the same timestamps with values equal up to float rounding
//! (sums over thousands of series may add in another order). Knows nothing of processes.

use std::collections::BTreeMap;

use serde_json::Value;

/// A matrix answer: label set (rendered sorted) → `(t, value)` points.
#[derive(Debug, Default)]
pub struct Matrix {
    series: BTreeMap<String, Vec<(f64, f64)>>,
}

impl Matrix {
    /// Parses a `/api/v1/query_range` response body.
    pub fn parse(body: &[u8]) -> Result<Self, String> {
        let json: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
        if json["status"] != "success" {
            return Err(format!("query failed: {}", json["error"]));
        }
        let result = json["data"]["result"]
            .as_array()
            .ok_or_else(|| format!("no matrix in {}", json["data"]))?;
        let mut series = BTreeMap::new();
        for s in result {
            let labels = s["metric"]
                .as_object()
                .ok_or("series without labels")?
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",");
            let points = s["values"]
                .as_array()
                .ok_or("series without values")?
                .iter()
                .map(|p| {
                    let t = p[0].as_f64().ok_or("bad timestamp")?;
                    let v = p[1].as_str().ok_or("bad value")?;
                    let v: f64 = v.parse().map_err(|_| "unparsable value")?;
                    Ok((t, v))
                })
                .collect::<Result<Vec<_>, &str>>()?;
            if series.insert(labels.clone(), points).is_some() {
                return Err(format!("duplicate series {labels}"));
            }
        }
        Ok(Self { series })
    }

    /// Number of series.
    pub fn series(&self) -> usize {
        self.series.len()
    }

    /// `None` when `other` holds the same series, timestamps and (nearly) the same values;
    /// else the first difference.
    pub fn difference(&self, other: &Matrix) -> Option<String> {
        if self.series() != other.series() {
            return Some(format!(
                "{} series against {}",
                self.series(),
                other.series()
            ));
        }
        for (labels, points) in &self.series {
            let Some(theirs) = other.series.get(labels) else {
                return Some(format!("series {{{labels}}} missing"));
            };
            if points.len() != theirs.len() {
                return Some(format!(
                    "{{{labels}}}: {} points against {}",
                    points.len(),
                    theirs.len()
                ));
            }
            for (&(t, a), &(u, b)) in points.iter().zip(theirs) {
                if t != u || !close(a, b) {
                    return Some(format!("{{{labels}}}: ({t}, {a}) against ({u}, {b})"));
                }
            }
        }
        None
    }
}

/// Equal up to rounding: both NaN, or equal infinities, or a relative difference below 1e-6.
fn close(a: f64, b: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a == b {
        return true;
    }
    let scale = a.abs().max(b.abs()).max(1e-9);
    (a - b).abs() / scale < 1e-6
}

/// The median of `values` (mean of the middle two for an even count); `NaN` when empty.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}
