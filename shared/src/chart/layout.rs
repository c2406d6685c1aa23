//! From a [`ChartSpec`] and a canvas size to a [`Plot`]: where the plot area is, what value
//! range the Y axis covers, the ticks, and the stacked values. The browser uses the same
//! [`Plot`] to turn a mouse position into a time and the nearest point.

use std::collections::BTreeMap;

use super::ChartSpec;
use super::ticks::{Tick, time_ticks, value_ticks};

/// Room around the plot area, in pixels.
const MARGIN_TOP: i32 = 10;
const MARGIN_RIGHT: i32 = 16;
const MARGIN_BOTTOM: i32 = 26;
const Y_LABEL_WIDTH: i32 = 56;
/// Height of one legend line.
pub(super) const LEGEND_LINE: i32 = 18;

/// The laid-out chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Plot {
    /// Plot area left edge, px.
    pub left: i32,
    /// Plot area top edge, px.
    pub top: i32,
    /// Plot area right edge, px.
    pub right: i32,
    /// Plot area bottom edge, px.
    pub bottom: i32,
    /// X axis start, ms.
    pub start_ms: i64,
    /// X axis end, ms.
    pub end_ms: i64,
    /// Y axis bottom value.
    pub y_min: f64,
    /// Y axis top value.
    pub y_max: f64,
    /// Time ticks.
    pub x_ticks: Vec<Tick<i64>>,
    /// Value ticks.
    pub y_ticks: Vec<Tick<f64>>,
    /// Per series, the `(ms, bottom, top)` it is drawn at: bottom is 0 unless stacked, top is
    /// the value (the running total when stacked). Empty for hidden series.
    pub lines: Vec<Vec<(i64, f64, f64)>>,
}

impl Plot {
    /// The x pixel of time `t_ms`.
    pub fn x(&self, t_ms: i64) -> f64 {
        let span = (self.end_ms - self.start_ms).max(1) as f64;
        f64::from(self.left)
            + (t_ms - self.start_ms) as f64 / span * f64::from(self.right - self.left)
    }

    /// The y pixel of value `v`.
    pub fn y(&self, v: f64) -> f64 {
        let span = self.y_max - self.y_min;
        let span = if span > 0.0 { span } else { 1.0 };
        f64::from(self.bottom) - (v - self.y_min) / span * f64::from(self.bottom - self.top)
    }

    /// The time at x pixel `px` (clamped to the axis).
    pub fn time_at(&self, px: f64) -> i64 {
        let width = f64::from((self.right - self.left).max(1));
        let fraction = ((px - f64::from(self.left)) / width).clamp(0.0, 1.0);
        self.start_ms + ((self.end_ms - self.start_ms) as f64 * fraction).round() as i64
    }

    /// Whether pixel `(px, py)` is inside the plot area.
    pub fn contains(&self, px: f64, py: f64) -> bool {
        (f64::from(self.left)..=f64::from(self.right)).contains(&px)
            && (f64::from(self.top)..=f64::from(self.bottom)).contains(&py)
    }

    /// The drawn point nearest to pixel `(px, py)`: `(series, point index)`, preferring the
    /// points closest in time, then in value.
    pub fn nearest(&self, px: f64, py: f64) -> Option<(usize, usize)> {
        let mut best: Option<(f64, f64, usize, usize)> = None;
        for (s, line) in self.lines.iter().enumerate() {
            for (i, &(t, _, top)) in line.iter().enumerate() {
                let dx = (self.x(t) - px).abs();
                let dy = (self.y(top) - py).abs();
                let better = match best {
                    None => true,
                    Some((bx, by, ..)) => dx < bx - 0.5 || ((dx - bx).abs() <= 0.5 && dy < by),
                };
                if better && dy.is_finite() {
                    best = Some((dx, dy, s, i));
                }
            }
        }
        best.map(|(.., s, i)| (s, i))
    }
}

/// Lays out `spec` on a `width` × `height` pixel canvas.
pub fn layout(spec: &ChartSpec<'_>, width: u32, height: u32) -> Plot {
    let width = i32::try_from(width).unwrap_or(i32::MAX);
    let height = i32::try_from(height).unwrap_or(i32::MAX);
    let legend_height = if spec.legend {
        let shown = (0..spec.series.len())
            .filter(|i| spec.is_visible(*i))
            .count();
        i32::try_from(shown)
            .unwrap_or(i32::MAX)
            .saturating_mul(LEGEND_LINE)
            .saturating_add(8)
    } else {
        0
    };
    let lines = stack(spec);
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for &(_, bottom, top) in lines.iter().flatten() {
        let bottom = if spec.stacked { bottom } else { top };
        for v in [bottom, top] {
            if v.is_finite() {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
    }
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    if spec.y_from_zero {
        lo = lo.min(0.0);
        hi = hi.max(0.0);
    }
    let left = Y_LABEL_WIDTH;
    let right = (width - MARGIN_RIGHT).max(left + 1);
    let top = MARGIN_TOP;
    let bottom = (height - MARGIN_BOTTOM - legend_height).max(top + 1);
    let max_y_ticks = usize::try_from((bottom - top) / 40).unwrap_or(2).max(2);
    let (y_ticks, y_min, y_max) = value_ticks(lo, hi, max_y_ticks);
    let max_x_ticks = usize::try_from((right - left) / 110).unwrap_or(1).max(1);
    Plot {
        left,
        top,
        right,
        bottom,
        start_ms: spec.start_ms,
        end_ms: spec.end_ms.max(spec.start_ms + 1),
        y_min,
        y_max,
        x_ticks: time_ticks(spec.start_ms, spec.end_ms, max_x_ticks, spec.offset_minutes),
        y_ticks,
        lines,
    }
}

/// The `(t, bottom, top)` of every visible series' finite points, stacked in legend order when
/// `spec.stacked`.
fn stack(spec: &ChartSpec<'_>) -> Vec<Vec<(i64, f64, f64)>> {
    let mut totals: BTreeMap<i64, f64> = BTreeMap::new();
    spec.series
        .iter()
        .enumerate()
        .map(|(i, series)| {
            if !spec.is_visible(i) {
                return Vec::new();
            }
            series
                .points
                .iter()
                .filter(|(_, v)| v.is_finite())
                .map(|&(t, v)| {
                    if spec.stacked {
                        let total = totals.entry(t).or_insert(0.0);
                        let bottom = *total;
                        *total += v;
                        (t, bottom, *total)
                    } else {
                        (t, 0.0, v)
                    }
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::{ChartSeries, Theme};

    fn series(name: &str, points: &[(i64, f64)]) -> ChartSeries {
        ChartSeries {
            name: name.into(),
            points: points.to_vec(),
        }
    }

    fn spec<'a>(series: &'a [ChartSeries], visible: &'a [bool], stacked: bool) -> ChartSpec<'a> {
        ChartSpec {
            series,
            visible,
            start_ms: 0,
            end_ms: 60_000,
            step_ms: Some(15_000),
            stacked,
            y_from_zero: false,
            offset_minutes: 0,
            theme: Theme::LIGHT,
            legend: false,
        }
    }

    #[test]
    fn stacking_adds_visible_series_in_order() {
        let s = [
            series("a", &[(0, 1.0), (15_000, 2.0)]),
            series("b", &[(0, 10.0), (15_000, f64::NAN)]),
            series("c", &[(0, 100.0)]),
        ];
        let plot = layout(&spec(&s, &[true, false, true], true), 800, 400);
        assert_eq!(plot.lines[0], vec![(0, 0.0, 1.0), (15_000, 0.0, 2.0)]);
        assert!(plot.lines[1].is_empty(), "hidden");
        assert_eq!(plot.lines[2], vec![(0, 1.0, 101.0)]);
        assert!(plot.y_max >= 101.0 && plot.y_min <= 0.0);
    }

    #[test]
    fn pixels_map_back_to_times_and_the_nearest_point() {
        let s = [
            series("low", &[(0, 1.0), (30_000, 1.0), (60_000, 1.0)]),
            series("high", &[(0, 9.0), (30_000, 9.0), (60_000, 9.0)]),
        ];
        let plot = layout(&spec(&s, &[], false), 800, 400);
        let x = plot.x(30_000);
        assert_eq!(plot.time_at(x), 30_000);
        assert_eq!(plot.nearest(x + 3.0, plot.y(8.0)), Some((1, 1)));
        assert_eq!(plot.nearest(plot.x(60_000), plot.y(2.0)), Some((0, 2)));
        assert!(plot.contains(x, plot.y(5.0)));
        assert!(!plot.contains(0.0, 0.0));
    }

    #[test]
    fn y_axis_covers_the_data_and_zero_when_asked() {
        let s = [series("a", &[(0, 50.0), (60_000, 70.0)])];
        let plot = layout(&spec(&s, &[], false), 800, 400);
        assert!(plot.y_min <= 50.0 && plot.y_min > 0.0 && plot.y_max >= 70.0);
        let mut from_zero = spec(&s, &[], false);
        from_zero.y_from_zero = true;
        assert_eq!(layout(&from_zero, 800, 400).y_min, 0.0);
        let empty = layout(&spec(&[], &[], false), 10, 10);
        assert!(empty.y_min < empty.y_max && empty.left < empty.right);
    }
}
