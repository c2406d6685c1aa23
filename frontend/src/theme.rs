//! Light and dark theme: follows `prefers-color-scheme` until the user picks one with the
//! toggle; the choice is kept in localStorage (`chorus.theme`) and shown as
//! `<html data-theme="light|dark">`, which the stylesheet keys on.

use leptos::prelude::*;

const STORAGE_KEY: &str = "chorus.theme";

/// The theme shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Dark text on light background.
    Light,
    /// Light text on dark background.
    Dark,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Mode::Light => "light",
            Mode::Dark => "dark",
        }
    }

    /// The chart colours of this theme.
    pub fn chart(self) -> shared::chart::Theme {
        match self {
            Mode::Light => shared::chart::Theme::LIGHT,
            Mode::Dark => shared::chart::Theme::DARK,
        }
    }
}

/// The theme signal, provided as context by the app shell.
#[derive(Debug, Clone, Copy)]
pub struct ThemeCtx(pub RwSignal<Mode>);

fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

/// The stored choice, else the system preference.
pub fn initial() -> Mode {
    match storage()
        .and_then(|s| s.get_item(STORAGE_KEY).ok().flatten())
        .as_deref()
    {
        Some("dark") => Mode::Dark,
        Some("light") => Mode::Light,
        _ => {
            let dark = web_sys::window()
                .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten())
                .is_some_and(|m| m.matches());
            if dark { Mode::Dark } else { Mode::Light }
        }
    }
}

/// Shows `mode` on `<html data-theme>`.
pub fn apply(mode: Mode) {
    if let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = root.set_attribute("data-theme", mode.as_str());
    }
}

/// The toggle button; stores the user's choice.
#[component]
pub fn ThemeToggle() -> impl IntoView {
    let ThemeCtx(mode) = expect_context::<ThemeCtx>();
    let toggle = move |_| {
        let next = match mode.get_untracked() {
            Mode::Light => Mode::Dark,
            Mode::Dark => Mode::Light,
        };
        if let Some(s) = storage() {
            let _ = s.set_item(STORAGE_KEY, next.as_str());
        }
        mode.set(next);
    };
    view! {
        <button class="theme-toggle" data-testid="theme-toggle" on:click=toggle
            title="Switch between light and dark theme">
            {move || match mode.get() { Mode::Light => "Dark theme", Mode::Dark => "Light theme" }}
        </button>
    }
}
