//! Change notifications for SD files: `notify` watches the directories that hold them and
//! sends a reload signal when a matching file is created, written, renamed or removed.
//!
//! Directories are watched rather than files because editors and config tools replace files
//! by renaming (as Prometheus's `discovery/file/file.go` does). Signals only say "something
//! changed"; reading the files is [`super::file_sd`]'s job and scheduling the provider's.

use std::collections::BTreeSet;
use std::path::Path;

use notify::event::{AccessKind, AccessMode};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;

use super::file_sd::SdFilePattern;

/// Watches the SD directories for as long as it lives.
pub struct FileWatch {
    /// Kept alive for its side effect: dropping it stops the watch.
    _watcher: RecommendedWatcher,
    /// One pending signal at most: any number of changes before a reload need one reload.
    signals: mpsc::Receiver<()>,
}

impl FileWatch {
    /// Starts watching the directories of `patterns`. Returns `None` (after logging) when the
    /// platform watcher cannot start; callers then rely on the periodic refresh alone.
    pub fn start(patterns: &[SdFilePattern]) -> Option<Self> {
        let (tx, signals) = mpsc::channel(1);
        let owned = patterns.to_vec();
        let handler = move |event: notify::Result<Event>| match event {
            Ok(event)
                if is_change(&event.kind) && event.paths.iter().any(|p| matches_any(&owned, p)) =>
            {
                // A full channel already holds a pending reload, which will see this change.
                let _ = tx.try_send(());
            }
            Ok(_) => {}
            Err(err) => {
                tracing::warn!(error = %err, "SD file watch error; reloading");
                let _ = tx.try_send(());
            }
        };
        let mut watcher = match notify::recommended_watcher(handler) {
            Ok(watcher) => watcher,
            Err(err) => {
                tracing::warn!(
                    error = %err,
                    "cannot watch SD files; re-reading every --store.sd-interval"
                );
                return None;
            }
        };
        let dirs: BTreeSet<&Path> = patterns.iter().map(SdFilePattern::dir).collect();
        for dir in dirs {
            if let Err(err) = watcher.watch(dir, RecursiveMode::NonRecursive) {
                let dir = dir.display();
                tracing::warn!(
                    %dir,
                    error = %err,
                    "cannot watch SD directory; re-reading every --store.sd-interval"
                );
            }
        }
        Some(Self {
            _watcher: watcher,
            signals,
        })
    }

    /// Waits for the next change signal. Pending forever if the watcher thread is gone.
    pub async fn changed(&mut self) {
        if self.signals.recv().await.is_none() {
            std::future::pending::<()>().await;
        }
    }
}

/// Events that can change a file's content or existence; opening and reading are not.
fn is_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    }
}

fn matches_any(patterns: &[SdFilePattern], path: &Path) -> bool {
    patterns.iter().any(|pattern| pattern.matches(path))
}

#[cfg(test)]
mod tests {
    use notify::event::{CreateKind, ModifyKind};

    use super::*;

    #[test]
    fn reads_are_not_changes() {
        assert!(!is_change(&EventKind::Access(AccessKind::Open(
            AccessMode::Any
        ))));
        assert!(!is_change(&EventKind::Access(AccessKind::Close(
            AccessMode::Read
        ))));
        assert!(is_change(&EventKind::Access(AccessKind::Close(
            AccessMode::Write
        ))));
        assert!(is_change(&EventKind::Create(CreateKind::File)));
        assert!(is_change(&EventKind::Modify(ModifyKind::Any)));
    }
}
