//! The console's time-series chart, drawn with plotters on any backend: the browser draws it
//! on a canvas, the server can render the very same chart to SVG or PNG.
//!
//! - [`ticks`]: axis ticks and value/time formatting.
//! - [`layout`]: from series and options to a [`Plot`]: the plot rectangle and the mappings
//!   between data and pixels, which the browser also uses to find the point under the mouse.
//! - [`draw`]: paints a [`ChartSpec`] on a plotters `DrawingArea`.
//!
//! Nothing here knows HTTP, the DOM or a particular backend.

pub mod draw;
pub mod layout;
pub mod ticks;

pub use draw::{ChartError, draw};
pub use layout::{Plot, layout};

/// One line of the chart.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartSeries {
    /// What the legend and tooltip call it, e.g. `up{job="api"}`.
    pub name: String,
    /// `(ms, value)` in increasing time order; NaN and infinite values are gaps.
    pub points: Vec<(i64, f64)>,
}

/// An RGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// `#rrggbb`, for CSS.
    pub fn css(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }
}

/// The colours of a chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    /// Behind everything.
    pub background: Rgb,
    /// Axis labels and legend text.
    pub text: Rgb,
    /// Grid lines.
    pub grid: Rgb,
    /// Series colours, reused in turn.
    pub palette: &'static [Rgb],
}

const PALETTE_LIGHT: [Rgb; 10] = [
    Rgb(0x1f, 0x77, 0xb4),
    Rgb(0xff, 0x7f, 0x0e),
    Rgb(0x2c, 0xa0, 0x2c),
    Rgb(0xd6, 0x27, 0x28),
    Rgb(0x94, 0x67, 0xbd),
    Rgb(0x8c, 0x56, 0x4b),
    Rgb(0xe3, 0x77, 0xc2),
    Rgb(0x7f, 0x7f, 0x7f),
    Rgb(0xbc, 0xbd, 0x22),
    Rgb(0x17, 0xbe, 0xcf),
];

const PALETTE_DARK: [Rgb; 10] = [
    Rgb(0x5d, 0xa5, 0xf0),
    Rgb(0xff, 0xa6, 0x4d),
    Rgb(0x5c, 0xd6, 0x5c),
    Rgb(0xff, 0x6b, 0x6b),
    Rgb(0xc3, 0x9b, 0xf2),
    Rgb(0xd1, 0x9a, 0x84),
    Rgb(0xf4, 0xa6, 0xdc),
    Rgb(0xbf, 0xbf, 0xbf),
    Rgb(0xe0, 0xe1, 0x5a),
    Rgb(0x4f, 0xdf, 0xee),
];

impl Theme {
    /// Dark text on white.
    pub const LIGHT: Theme = Theme {
        background: Rgb(0xff, 0xff, 0xff),
        text: Rgb(0x33, 0x33, 0x33),
        grid: Rgb(0xe5, 0xe5, 0xe5),
        palette: &PALETTE_LIGHT,
    };

    /// Light text on near-black.
    pub const DARK: Theme = Theme {
        background: Rgb(0x1b, 0x1e, 0x23),
        text: Rgb(0xd8, 0xdc, 0xe2),
        grid: Rgb(0x33, 0x38, 0x40),
        palette: &PALETTE_DARK,
    };

    /// The colour of series `index`.
    pub fn series_color(&self, index: usize) -> Rgb {
        match self.palette.len() {
            0 => self.text,
            n => self.palette[index % n],
        }
    }
}

/// Everything that decides what the chart looks like.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartSpec<'a> {
    /// The series, in legend order.
    pub series: &'a [ChartSeries],
    /// Which series are shown (missing entries count as shown).
    pub visible: &'a [bool],
    /// Start of the X axis, ms.
    pub start_ms: i64,
    /// End of the X axis, ms.
    pub end_ms: i64,
    /// The query's step: consecutive points further apart than 1.5 steps are not joined.
    pub step_ms: Option<i64>,
    /// Stack the visible series on top of each other.
    pub stacked: bool,
    /// Start the Y axis at zero (or end it there when all values are negative).
    pub y_from_zero: bool,
    /// Minutes east of UTC the time labels are written in (0 for UTC).
    pub offset_minutes: i32,
    /// Colours.
    pub theme: Theme,
    /// Draw the legend below the plot (the browser shows its own, interactive one).
    pub legend: bool,
}

impl ChartSpec<'_> {
    /// Whether series `index` is shown.
    pub fn is_visible(&self, index: usize) -> bool {
        self.visible.get(index).copied().unwrap_or(true)
    }
}
