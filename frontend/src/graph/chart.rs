//! The Graph tab's chart: a `<canvas>` drawn by `shared::chart::draw` through plotters'
//! canvas backend, redrawn when the series, visibility, stacking or theme change; a hover
//! tooltip (time, value, labels) from the returned `Plot`; and the HTML legend.
//!
//! High-DPI screens: the canvas's backing store is its CSS size × `devicePixelRatio` and the 2D
//! context is scaled by the same factor, while the chart is laid out in CSS pixels (a drawing
//! area of the CSS size). The `Plot` therefore maps CSS pixels, as mouse `offsetX`/`offsetY`
//! are, and text and lines come out sharp.
//! It knows nothing of how the data was fetched.

use leptos::html::Canvas;
use leptos::prelude::*;
use plotters::coord::Shift;
use plotters::prelude::DrawingArea;
use plotters::prelude::IntoDrawingArea;
use plotters_canvas::CanvasBackend;
use shared::chart::ticks::{format_value, tooltip_time};
use shared::chart::{ChartSeries, ChartSpec, Plot, draw};

use super::legend::Legend;
use super::query::Window;
use super::{LocalTime, local_offset_minutes};
use crate::prefix;
use crate::theme::ThemeCtx;

const HEIGHT: u32 = 360;

/// What the tooltip shows, and where.
#[derive(Debug, Clone, PartialEq)]
struct Hover {
    x: f64,
    y: f64,
    time: String,
    value: String,
    name: String,
    /// Show the tooltip left of the point (it is near the right edge).
    flip: bool,
}

/// Sizes the canvas's backing store to its CSS size × `devicePixelRatio` (at least 1), scales
/// its context to match, and returns a drawing area of the CSS size (see the module doc).
fn sharp_area(canvas: &web_sys::HtmlCanvasElement) -> Option<DrawingArea<CanvasBackend, Shift>> {
    let css_width = u32::try_from(canvas.client_width()).unwrap_or(0).max(300);
    let ratio = web_sys::window()
        .map(|w| w.device_pixel_ratio())
        .filter(|r| r.is_finite() && *r >= 1.0)
        .unwrap_or(1.0);
    // Both sizes are a few thousand pixels at most.
    let scaled = |css: u32| (f64::from(css) * ratio).round() as u32;
    let (width, height) = (scaled(css_width), scaled(HEIGHT));
    // Setting the size clears the canvas and resets the context's transform.
    canvas.set_width(width);
    canvas.set_height(height);
    let context: web_sys::CanvasRenderingContext2d = canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| wasm_bindgen::JsCast::dyn_into(c).ok())?;
    context
        .set_transform(
            f64::from(width) / f64::from(css_width),
            0.0,
            0.0,
            f64::from(height) / f64::from(HEIGHT),
            0.0,
            0.0,
        )
        .ok()?;
    let backend = CanvasBackend::with_canvas_object(canvas.clone())?;
    Some(
        backend
            .into_drawing_area()
            .shrink((0, 0), (css_width, HEIGHT)),
    )
}

/// The chart of `series` over `window`.
#[component]
pub fn Chart(
    series: Signal<Vec<ChartSeries>>,
    window: Signal<Option<Window>>,
    stacked: Signal<bool>,
    y_from_zero: RwSignal<bool>,
    zoom: Callback<(i64, i64)>,
) -> impl IntoView {
    let ThemeCtx(mode) = expect_context::<ThemeCtx>();
    let LocalTime(local_time) = expect_context::<LocalTime>();
    let offset = move || {
        if local_time.get() {
            local_offset_minutes()
        } else {
            0
        }
    };
    let canvas_ref = NodeRef::<Canvas>::new();
    let visible: RwSignal<Vec<bool>> = RwSignal::new(Vec::new());
    let plot: RwSignal<Option<Plot>> = RwSignal::new(None);
    let hover: RwSignal<Option<Hover>> = RwSignal::new(None);
    let error: RwSignal<Option<String>> = RwSignal::new(None);
    // The x pixel where a drag started, and where it is now.
    let drag: RwSignal<Option<(f64, f64)>> = RwSignal::new(None);

    // New data shows every series again.
    Effect::new(move |_| {
        let n = series.with(Vec::len);
        visible.set(vec![true; n]);
    });

    Effect::new(move |_| {
        let Some(canvas) = canvas_ref.get() else {
            return;
        };
        let Some(w) = window.get() else { return };
        let theme = mode.get().chart();
        let stacked = stacked.get();
        let y_from_zero = y_from_zero.get();
        let offset_minutes = offset();
        let shown = visible.get();
        series.with(|series| {
            let Some(area) = sharp_area(&canvas) else {
                error.set(Some("the canvas has no 2D context".into()));
                return;
            };
            let spec = ChartSpec {
                series,
                visible: &shown,
                start_ms: w.start_ms,
                end_ms: w.end_ms,
                step_ms: Some(w.step_ms),
                stacked,
                y_from_zero,
                offset_minutes,
                theme,
                legend: false,
            };
            match draw(&area, &spec) {
                Ok(p) => {
                    plot.set(Some(p));
                    error.set(None);
                    prefix::mark("chorus:chart-drawn");
                }
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    });

    let on_down = move |ev: leptos::ev::MouseEvent| {
        let px = f64::from(ev.offset_x());
        if ev.button() == 0
            && plot.with(|p| {
                p.as_ref()
                    .is_some_and(|p| p.contains(px, f64::from(ev.offset_y())))
            })
        {
            ev.prevent_default();
            drag.set(Some((px, px)));
        }
    };
    let on_up = move |ev: leptos::ev::MouseEvent| {
        let Some((from, _)) = drag.get_untracked() else {
            return;
        };
        drag.set(None);
        let to = f64::from(ev.offset_x());
        if (to - from).abs() < 4.0 {
            return;
        }
        let span = plot.with_untracked(|p| {
            p.as_ref()
                .map(|p| (p.time_at(from.min(to)), p.time_at(from.max(to))))
        });
        if let Some(span) = span {
            zoom.run(span);
        }
    };
    let on_move = move |ev: leptos::ev::MouseEvent| {
        let (px, py) = (f64::from(ev.offset_x()), f64::from(ev.offset_y()));
        if let Some((from, _)) = drag.get_untracked() {
            drag.set(Some((from, px)));
        }
        let found = plot.with(|p| {
            let p = p.as_ref()?;
            if !p.contains(px, py) {
                return None;
            }
            let (s, i) = p.nearest(px, py)?;
            let &(t, bottom, top) = p.lines.get(s)?.get(i)?;
            let value = if stacked.get_untracked() {
                top - bottom
            } else {
                top
            };
            let x = p.x(t);
            Some(Hover {
                flip: x > f64::from(p.left + (p.right - p.left) * 3 / 5),
                x,
                y: p.y(top),
                time: tooltip_time(t, untrack(offset)),
                value: format_value(value, value.abs()),
                name: series
                    .with_untracked(|all| all.get(s).map(|x| x.name.clone()).unwrap_or_default()),
            })
        });
        hover.set(found);
    };

    let names = Signal::derive(move || series.with(|s| s.iter().map(|x| x.name.clone()).collect()));
    let colors = Signal::derive(move || {
        let theme = mode.get().chart();
        series.with(|s| (0..s.len()).map(|i| theme.series_color(i).css()).collect())
    });

    view! {
        <div class="chart-wrap">
            <canvas data-testid="chart" node_ref=canvas_ref height=HEIGHT
                on:mousemove=on_move on:mousedown=on_down on:mouseup=on_up
                on:mouseleave=move |_| { hover.set(None); drag.set(None); }></canvas>
            {move || drag.get().map(|(a, b)| {
                let top = plot.with(|p| p.as_ref().map_or((0, 0), |p| (p.top, p.bottom - p.top)));
                view! {
                    <div class="selection" style=format!(
                        "left:{}px;width:{}px;top:{}px;height:{}px", a.min(b), (a - b).abs(), top.0, top.1
                    )></div>
                }
            })}
            {move || hover.get().map(|h| view! {
                <div class="dot" style=format!("left:{}px;top:{}px", h.x - 4.0, h.y - 4.0)></div>
                <div class="tooltip" data-testid="tooltip" style=format!(
                    "left:{}px;top:{}px;{}", h.x + 12.0, h.y + 12.0,
                    if h.flip { "transform:translateX(calc(-100% - 24px))" } else { "" }
                )>
                    <div class="tt-time" data-testid="tooltip-time">{h.time}</div>
                    <div class="tt-value" data-testid="tooltip-value">{h.value}</div>
                    <div class="tt-name" data-testid="tooltip-labels">{h.name}</div>
                </div>
            })}
            {move || error.get().map(|e| view! { <div class="error">{e}</div> })}
            {move || series.with(Vec::is_empty).then(|| view! { <div class="empty">"No datapoints found."</div> })}
        </div>
        <Legend names=names colors=colors visible=visible/>
    }
}
