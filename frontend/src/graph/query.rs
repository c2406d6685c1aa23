//! What a panel asks the querier: the form of an instant or range query built from its
//! `PanelState`, and the small value helpers of the panel's inputs (range presets, times,
//! replica-label choice, caret positions). No view code here.

use shared::panel::{PanelState, StepSeconds, Tab, default_step_seconds};
use shared::timefmt::UiDuration;

use super::QueryDefaults;
use crate::app::Site;

/// The range −/+ buttons step through these, in ms.
pub const RANGE_STEPS: [u64; 16] = [
    60_000,
    300_000,
    900_000,
    1_800_000,
    3_600_000,
    7_200_000,
    21_600_000,
    43_200_000,
    86_400_000,
    172_800_000,
    604_800_000,
    1_209_600_000,
    2_419_200_000,
    4_838_400_000,
    15_724_800_000,
    31_536_000_000,
];

/// The next shorter (`longer == false`) or longer preset range than `current`.
pub fn step_range(current: UiDuration, longer: bool) -> UiDuration {
    let ms = current.as_ms();
    let next = if longer {
        RANGE_STEPS.iter().copied().find(|s| *s > ms)
    } else {
        RANGE_STEPS.iter().rev().copied().find(|s| *s < ms)
    };
    UiDuration::from_ms(next.unwrap_or(ms))
}

/// The chosen replica labels after (un)checking `label`; empty means all of `all` (the
/// querier's default), so a link without a choice keeps following the querier's flag.
pub fn toggle_label(chosen: &[String], all: &[String], label: &str, on: bool) -> Vec<String> {
    let current: Vec<String> = if chosen.is_empty() {
        all.to_vec()
    } else {
        chosen.to_vec()
    };
    let next: Vec<String> = all
        .iter()
        .filter(|l| {
            if l.as_str() == label {
                on
            } else {
                current.contains(l)
            }
        })
        .cloned()
        .collect();
    if next.is_empty() {
        // At least one label must stay chosen; an empty list would mean all of them.
        chosen.to_vec()
    } else if next.len() == all.len() {
        Vec::new()
    } else {
        next
    }
}

/// The byte offset of UTF-16 position `units` in `text` (the DOM counts UTF-16 units).
pub fn utf16_to_byte(text: &str, units: usize) -> usize {
    let mut seen = 0;
    for (i, c) in text.char_indices() {
        if seen >= units {
            return i;
        }
        seen += c.len_utf16();
    }
    text.len()
}

/// The caret position of the event's target (a textarea), in UTF-16 units.
pub fn caret(ev: &leptos::ev::Event) -> Option<usize> {
    let target = ev.target()?;
    let pos = js_sys::Reflect::get(&target, &"selectionStart".into()).ok()?;
    // A caret position is a small non-negative integer.
    pos.as_f64().map(|p| p as usize)
}

/// A time in ms as the API's decimal seconds.
pub fn api_seconds(t_ms: i64) -> String {
    let sign = if t_ms < 0 { "-" } else { "" };
    let abs = t_ms.unsigned_abs();
    format!("{sign}{}.{:03}", abs / 1000, abs % 1000)
}

/// The time window a range query asked for, for the chart's axis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// Start, ms.
    pub start_ms: i64,
    /// End, ms.
    pub end_ms: i64,
    /// Step, ms.
    pub step_ms: i64,
}

/// The request a panel state makes: URL, form pairs, and the window of a range query.
pub fn request(
    site: &Site,
    s: &PanelState,
    d: QueryDefaults,
    now_ms: i64,
) -> (String, Vec<(&'static str, String)>, Option<Window>) {
    let mut pairs = vec![
        ("query", s.expr.clone()),
        ("dedup", s.deduplicate.to_string()),
        ("partial_response", s.partial_response.to_string()),
    ];
    for label in &s.replica_labels {
        pairs.push(("replicaLabels[]", label.clone()));
    }
    match s.tab {
        Tab::Table => {
            pairs.push(("time", api_seconds(s.moment_ms.unwrap_or(now_ms))));
            (site.api("api/v1/query"), pairs, None)
        }
        Tab::Graph => {
            let end_ms = s.end_ms.unwrap_or(now_ms);
            let range = i64::try_from(s.range.as_ms()).unwrap_or(i64::MAX);
            let start_ms = end_ms.saturating_sub(range);
            let step_s = s.step.map_or_else(
                || default_step_seconds(s.range, d.min_step_seconds) as f64,
                StepSeconds::get,
            );
            pairs.push(("start", api_seconds(start_ms)));
            pairs.push(("end", api_seconds(end_ms)));
            pairs.push(("step", step_s.to_string()));
            let window = Window {
                start_ms,
                end_ms,
                step_ms: (step_s * 1000.0).round() as i64,
            };
            (site.api("api/v1/query_range"), pairs, Some(window))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replica_label_choice() {
        let all = vec!["a".to_owned(), "b".to_owned()];
        let only_b = toggle_label(&[], &all, "a", false);
        assert_eq!(only_b, vec!["b".to_owned()]);
        assert_eq!(toggle_label(&only_b, &all, "b", false), only_b);
        assert!(toggle_label(&only_b, &all, "a", true).is_empty());
    }

    #[test]
    fn ranges_and_seconds() {
        assert_eq!(
            step_range(UiDuration::from_ms(3_600_000), true).as_ms(),
            7_200_000
        );
        assert_eq!(
            step_range(UiDuration::from_ms(3_600_000), false).as_ms(),
            1_800_000
        );
        assert_eq!(
            step_range(UiDuration::from_ms(5_000_000), false).as_ms(),
            3_600_000
        );
        assert_eq!(api_seconds(-1), "-0.001");
        assert_eq!(utf16_to_byte("aé€b", 3), 6);
        assert_eq!(utf16_to_byte("ab", 9), 2);
        assert_eq!(api_seconds(-1500), "-1.500");
        assert_eq!(api_seconds(1_700_000_000_123), "1700000000.123");
    }
}
