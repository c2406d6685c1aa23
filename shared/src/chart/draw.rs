//! Paints a chart on any plotters backend: background, grid, axis labels, the series (lines,
//! or filled bands when stacked) and optionally a legend.
//!
//! Lines break where consecutive points are more than 1.5 steps apart, as Prometheus's graph
//! does, so missing data shows as a gap rather than a straight line across it.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::layout::{LEGEND_LINE, Plot, layout};
use super::{ChartSpec, Rgb};

/// Why drawing failed: the backend refused an operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("drawing the chart failed: {0}")]
pub struct ChartError(String);

fn color(c: Rgb) -> RGBColor {
    RGBColor(c.0, c.1, c.2)
}

fn to_px(v: f64) -> i32 {
    // Pixel coordinates far outside the canvas are clamped; plotters clips them.
    v.clamp(-1e6, 1e6).round() as i32
}

/// Draws `spec` filling `area` and returns its layout (for hover handling).
pub fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    spec: &ChartSpec<'_>,
) -> Result<Plot, ChartError> {
    let fail = |e: DrawingAreaErrorKind<DB::ErrorType>| ChartError(e.to_string());
    let (width, height) = area.dim_in_pixel();
    let plot = layout(spec, width, height);
    let theme = spec.theme;
    area.fill(&color(theme.background)).map_err(fail)?;
    let text = ("sans-serif", 12).into_font().color(&color(theme.text));
    let grid = ShapeStyle::from(&color(theme.grid)).stroke_width(1);

    for tick in &plot.y_ticks {
        let y = to_px(plot.y(tick.at));
        area.draw(&PathElement::new(
            vec![(plot.left, y), (plot.right, y)],
            grid,
        ))
        .map_err(fail)?;
        let style = text.pos(Pos::new(HPos::Right, VPos::Center));
        area.draw(&Text::new(tick.label.clone(), (plot.left - 6, y), style))
            .map_err(fail)?;
    }
    for tick in &plot.x_ticks {
        let x = to_px(plot.x(tick.at));
        area.draw(&PathElement::new(
            vec![(x, plot.top), (x, plot.bottom)],
            grid,
        ))
        .map_err(fail)?;
        let style = text.pos(Pos::new(HPos::Center, VPos::Top));
        area.draw(&Text::new(tick.label.clone(), (x, plot.bottom + 6), style))
            .map_err(fail)?;
    }
    let axis = ShapeStyle::from(&color(theme.text)).stroke_width(1);
    area.draw(&PathElement::new(
        vec![
            (plot.left, plot.top),
            (plot.left, plot.bottom),
            (plot.right, plot.bottom),
        ],
        axis,
    ))
    .map_err(fail)?;

    let plot_area = area.clone().shrink(
        (plot.left, plot.top),
        (
            u32::try_from(plot.right - plot.left).unwrap_or(0),
            u32::try_from(plot.bottom - plot.top).unwrap_or(0),
        ),
    );
    let origin = (plot.left, plot.top);
    let shift = |(x, y): (i32, i32)| (x - origin.0, y - origin.1);
    for (index, line) in plot.lines.iter().enumerate() {
        let c = color(theme.series_color(index));
        for segment in segments(line, spec.step_ms) {
            let tops: Vec<(i32, i32)> = segment
                .iter()
                .map(|&(t, _, top)| shift((to_px(plot.x(t)), to_px(plot.y(top)))))
                .collect();
            if spec.stacked {
                let mut band = tops.clone();
                band.extend(
                    segment
                        .iter()
                        .rev()
                        .map(|&(t, bottom, _)| shift((to_px(plot.x(t)), to_px(plot.y(bottom))))),
                );
                plot_area
                    .draw(&Polygon::new(band, c.mix(0.35).filled()))
                    .map_err(fail)?;
            }
            if tops.len() == 1 {
                plot_area
                    .draw(&Circle::new(tops[0], 2, c.filled()))
                    .map_err(fail)?;
            } else {
                plot_area
                    .draw(&PathElement::new(tops, c.stroke_width(2)))
                    .map_err(fail)?;
            }
        }
    }

    if spec.legend {
        let mut y = plot.bottom + 30;
        for (index, series) in spec.series.iter().enumerate() {
            if !spec.is_visible(index) {
                continue;
            }
            let c = color(theme.series_color(index));
            area.draw(&Rectangle::new(
                [(plot.left, y - 5), (plot.left + 10, y + 5)],
                c.filled(),
            ))
            .map_err(fail)?;
            let style = text.pos(Pos::new(HPos::Left, VPos::Center));
            area.draw(&Text::new(series.name.clone(), (plot.left + 16, y), style))
                .map_err(fail)?;
            y += LEGEND_LINE;
        }
    }
    area.present().map_err(fail)?;
    Ok(plot)
}

/// Splits a drawn line where points are more than 1.5 steps apart.
fn segments(line: &[(i64, f64, f64)], step_ms: Option<i64>) -> Vec<&[(i64, f64, f64)]> {
    let Some(step) = step_ms.filter(|s| *s > 0) else {
        return if line.is_empty() {
            Vec::new()
        } else {
            vec![line]
        };
    };
    let max_gap = step.saturating_mul(3) / 2;
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=line.len() {
        let broken = i == line.len() || line[i].0.saturating_sub(line[i - 1].0) > max_gap;
        if broken {
            if start < i {
                out.push(&line[start..i]);
            }
            start = i;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::{ChartSeries, Theme};

    fn render(spec: &ChartSpec<'_>) -> String {
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (640, 320)).into_drawing_area();
            draw(&root, spec).expect("draws");
        }
        svg
    }

    fn spec<'a>(series: &'a [ChartSeries], stacked: bool, legend: bool) -> ChartSpec<'a> {
        ChartSpec {
            series,
            visible: &[],
            start_ms: 1_704_067_200_000,
            end_ms: 1_704_067_200_000 + 3_600_000,
            step_ms: Some(60_000),
            stacked,
            y_from_zero: false,
            offset_minutes: 0,
            theme: Theme::DARK,
            legend,
        }
    }

    fn series(name: &str, minutes: &[i64]) -> ChartSeries {
        ChartSeries {
            name: name.into(),
            points: minutes
                .iter()
                .map(|m| (1_704_067_200_000 + m * 60_000, *m as f64))
                .collect(),
        }
    }

    #[test]
    fn gaps_longer_than_one_and_a_half_steps_split_lines() {
        let line: Vec<(i64, f64, f64)> = [0, 60, 120, 300, 360, 600]
            .iter()
            .map(|t| (*t * 1000, 0.0, 1.0))
            .collect();
        let lengths: Vec<usize> = segments(&line, Some(60_000))
            .iter()
            .map(|s| s.len())
            .collect();
        assert_eq!(lengths, [3, 2, 1]);
        assert_eq!(segments(&line, None).len(), 1);
        assert!(segments(&[], Some(1)).is_empty());
    }

    #[test]
    fn svg_has_axis_labels_series_and_legend() {
        let s = [
            series("up{job=\"a\"}", &[0, 1, 2, 3, 10, 11]),
            series("b", &[0, 1]),
        ];
        let svg = render(&spec(&s, false, true));
        assert!(
            svg.contains("00:00") || svg.contains("00:10"),
            "time labels"
        );
        assert!(svg.contains("up{job=&quot;a&quot;}") || svg.contains("up{job=\"a\"}"));
        // The gap between minute 3 and 10 gives two polylines for the first series, one for
        // the second.
        assert_eq!(
            svg.matches("<polyline").count() - count_grid(&svg),
            3,
            "{svg}"
        );
        let background = Theme::DARK.background.css().to_uppercase();
        assert!(svg.contains(&background), "{background} in {svg}");
    }

    /// Writes a sample chart to `$CHORUS_CHART_SAMPLE` (an .svg path) for a human to look at.
    #[test]
    fn sample_chart_for_inspection() {
        let Some(path) = std::env::var_os("CHORUS_CHART_SAMPLE") else {
            return;
        };
        let wave = |phase: f64| ChartSeries {
            name: format!("node_load1{{instance=\"replica-{phase}\"}}"),
            points: (0..=60)
                .filter(|m| !(20..25).contains(m))
                .map(|m| {
                    let t = 1_704_067_200_000 + m * 60_000;
                    (t, 2.0 + (m as f64 / 6.0 + phase).sin())
                })
                .collect(),
        };
        let s = [wave(0.0), wave(1.0), wave(2.0)];
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (800, 400)).into_drawing_area();
            draw(&root, &spec(&s, false, true)).expect("draws");
        }
        std::fs::write(path, svg).expect("writes the sample");
    }

    #[test]
    fn stacked_series_are_filled_bands() {
        let s = [series("a", &[0, 1, 2]), series("b", &[0, 1, 2])];
        let svg = render(&spec(&s, true, false));
        assert_eq!(svg.matches("<polygon").count(), 2, "{svg}");
    }

    /// Grid and axis lines are polylines too: one per tick plus the axis.
    fn count_grid(svg: &str) -> usize {
        svg.matches("stroke-width=\"1\"").count()
    }
}
