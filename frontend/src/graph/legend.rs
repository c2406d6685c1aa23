//! The chart legend, in HTML: a click shows only that series (a second click shows all
//! again), Ctrl/Cmd-click toggles one series. It knows only names, colours and visibility.

use leptos::prelude::*;

/// The new visibility after clicking series `index` (with `toggle` for Ctrl/Cmd).
pub fn click(visible: &[bool], index: usize, toggle: bool) -> Vec<bool> {
    let mut out = visible.to_vec();
    if index >= out.len() {
        return out;
    }
    if toggle {
        out[index] = !out[index];
    } else {
        let only_this = out.iter().enumerate().all(|(i, v)| *v == (i == index));
        for (i, v) in out.iter_mut().enumerate() {
            *v = only_this || i == index;
        }
    }
    out
}

/// The legend of `names` drawn in `colors`.
#[component]
pub fn Legend(
    names: Signal<Vec<String>>,
    colors: Signal<Vec<String>>,
    visible: RwSignal<Vec<bool>>,
) -> impl IntoView {
    view! {
        <ul class="legend" data-testid="legend">
            {move || {
                let colors = colors.get();
                names.get().into_iter().enumerate().map(|(i, name)| {
                    let color = colors.get(i).cloned().unwrap_or_default();
                    view! {
                        <li data-testid="legend-item" class:hidden=move || !visible.with(|v| v.get(i).copied().unwrap_or(true))
                            on:click=move |ev: leptos::ev::MouseEvent| {
                                let toggle = ev.ctrl_key() || ev.meta_key();
                                visible.update(|v| *v = click(v, i, toggle));
                            }>
                            <span class="swatch" style=format!("background:{color}")></span>
                            {name}
                        </li>
                    }
                }).collect_view()
            }}
        </ul>
    }
}

#[cfg(test)]
mod tests {
    use super::click;

    #[test]
    fn click_isolates_and_restores_ctrl_toggles() {
        let all = vec![true, true, true];
        let isolated = click(&all, 1, false);
        assert_eq!(isolated, vec![false, true, false]);
        assert_eq!(click(&isolated, 1, false), all);
        assert_eq!(click(&isolated, 2, true), vec![false, true, true]);
        assert_eq!(click(&all, 5, false), all);
    }
}
