//! The discovery task: static specs plus SD files, resolved through DNS on a schedule, published
//! as one sorted set of addresses on a `watch` channel.
//!
//! Schedule (THANOS.md §4, `--store.sd-*` flags): everything is resolved once at start; DNS
//! specs again every `dns_interval`; SD files are re-read when they change and every
//! `sd_interval`, and specs new to a file are resolved right away. A spec whose lookup fails
//! keeps its previous addresses, as Thanos's `pkg/discovery/dns/provider.go` `Resolve` does; an
//! SD file that cannot be read keeps its previous specs, as Prometheus's file SD does. The task
//! never gives up: failures are logged and retried at the next tick.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior, interval_at};
use tokio_util::sync::CancellationToken;

use super::dns::{DnsError, HickoryResolver, Resolver, ResolverConfig, resolve_spec};
use super::file_sd::{self, SdFilePattern};
use super::file_watch::FileWatch;
use super::spec::EndpointSpec;

/// How many DNS lookups run at once during a refresh.
const LOOKUP_CONCURRENCY: usize = 16;

/// What to discover and how often; `Default` has Thanos's intervals and resolver.
#[derive(Debug, Clone)]
pub struct DiscoveryConfig {
    /// `--endpoint`/`--store` values.
    pub static_specs: Vec<EndpointSpec>,
    /// `--store.sd-files` values.
    pub sd_files: Vec<SdFilePattern>,
    /// `--store.sd-interval`: full re-read of SD files (5m), besides change notifications.
    pub sd_interval: Duration,
    /// `--store.sd-dns-interval`: DNS refresh period (30s).
    pub dns_interval: Duration,
    /// `--store.sd-dns-resolver` and where DNS questions go.
    pub resolver: ResolverConfig,
}

impl Default for DiscoveryConfig {
    fn default() -> Self {
        Self {
            static_specs: Vec::new(),
            sd_files: Vec::new(),
            sd_interval: Duration::from_secs(5 * 60),
            dns_interval: Duration::from_secs(30),
            resolver: ResolverConfig::default(),
        }
    }
}

/// Errors starting discovery. Once running, discovery only logs.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// The resolver could not be set up.
    #[error(transparent)]
    Resolver(#[from] DnsError),
    /// An interval was zero, which would make the task spin.
    #[error("{flag} must be greater than zero")]
    ZeroInterval {
        /// The flag whose value was zero.
        flag: &'static str,
    },
}

/// The discovered `host:port` addresses: sorted, without duplicates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Addresses(Vec<String>);

impl Addresses {
    /// The addresses, sorted.
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    /// Number of addresses.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether nothing was discovered.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Iterates in sorted order.
    pub fn iter(&self) -> std::slice::Iter<'_, String> {
        self.0.iter()
    }
}

impl FromIterator<String> for Addresses {
    fn from_iter<I: IntoIterator<Item = String>>(iter: I) -> Self {
        Self(
            iter.into_iter()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
        )
    }
}

impl<'a> IntoIterator for &'a Addresses {
    type Item = &'a String;
    type IntoIter = std::slice::Iter<'a, String>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// A running discovery task and the channel it publishes on.
///
/// The task stops when the cancellation token given to [`Discovery::spawn`] is cancelled.
pub struct Discovery {
    addresses: watch::Receiver<Addresses>,
    task: JoinHandle<()>,
}

impl Discovery {
    /// Starts discovery with a hickory resolver built from `config.resolver`. Must be called
    /// within a Tokio runtime. The channel starts with the static addresses (specs that need
    /// no lookup) and gets the first full result as soon as the initial refresh finishes.
    pub fn spawn(
        config: DiscoveryConfig,
        cancel: CancellationToken,
    ) -> Result<Self, DiscoveryError> {
        let resolver = HickoryResolver::new(&config.resolver)?;
        Self::spawn_with_resolver(config, Arc::new(resolver), cancel)
    }

    /// Starts discovery with any [`Resolver`] (tests use fakes or a local DNS server).
    pub fn spawn_with_resolver(
        config: DiscoveryConfig,
        resolver: Arc<dyn Resolver>,
        cancel: CancellationToken,
    ) -> Result<Self, DiscoveryError> {
        if config.sd_interval.is_zero() {
            return Err(DiscoveryError::ZeroInterval {
                flag: "--store.sd-interval",
            });
        }
        if config.dns_interval.is_zero() {
            return Err(DiscoveryError::ZeroInterval {
                flag: "--store.sd-dns-interval",
            });
        }
        let initial = config
            .static_specs
            .iter()
            .filter_map(|spec| match spec {
                EndpointSpec::Static(addr) => Some(addr.to_string()),
                _ => None,
            })
            .collect();
        let (tx, addresses) = watch::channel(initial);
        let state = State {
            resolver,
            static_specs: config.static_specs,
            patterns: Arc::new(config.sd_files),
            file_specs: BTreeMap::new(),
            resolved: HashMap::new(),
            tx,
        };
        let task = tokio::spawn(state.run(config.sd_interval, config.dns_interval, cancel));
        Ok(Self { addresses, task })
    }

    /// A receiver that sees every change of the address set.
    pub fn subscribe(&self) -> watch::Receiver<Addresses> {
        self.addresses.clone()
    }

    /// The current address set.
    pub fn addresses(&self) -> Addresses {
        self.addresses.borrow().clone()
    }

    /// Waits for the task to finish after its token was cancelled.
    pub async fn stopped(self) {
        if let Err(err) = self.task.await {
            tracing::error!(error = %err, "discovery task failed");
        }
    }
}

/// Why the task wakes up.
enum Wake {
    /// SD files may have changed.
    Files,
    /// DNS results are due.
    Dns,
}

/// The task's state: what each source contributed last time.
struct State {
    resolver: Arc<dyn Resolver>,
    static_specs: Vec<EndpointSpec>,
    patterns: Arc<Vec<SdFilePattern>>,
    /// Specs read from each SD file, kept when a later read fails.
    file_specs: BTreeMap<PathBuf, Vec<EndpointSpec>>,
    /// Last good addresses of each spec.
    resolved: HashMap<EndpointSpec, Vec<String>>,
    tx: watch::Sender<Addresses>,
}

impl State {
    async fn run(
        mut self,
        sd_interval: Duration,
        dns_interval: Duration,
        cancel: CancellationToken,
    ) {
        tracing::info!(
            specs = self.static_specs.len(),
            sd_files = self.patterns.len(),
            ?dns_interval,
            ?sd_interval,
            "discovery started"
        );
        let mut watch = if self.patterns.is_empty() {
            None
        } else {
            FileWatch::start(&self.patterns)
        };
        let start = Instant::now();
        let mut sd_tick = interval_at(start + sd_interval, sd_interval);
        let mut dns_tick = interval_at(start + dns_interval, dns_interval);
        sd_tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        dns_tick.set_missed_tick_behavior(MissedTickBehavior::Delay);

        let mut wake = Wake::Files;
        loop {
            let refresh = async {
                match wake {
                    Wake::Files => {
                        self.reload_files().await;
                        self.resolve(false).await;
                    }
                    Wake::Dns => self.resolve(true).await,
                }
                self.publish();
            };
            tokio::select! {
                () = cancel.cancelled() => break,
                () = refresh => {}
            }
            wake = tokio::select! {
                // Ticks before change signals, so a file rewritten nonstop cannot starve DNS.
                biased;
                () = cancel.cancelled() => break,
                _ = dns_tick.tick() => Wake::Dns,
                _ = sd_tick.tick() => Wake::Files,
                () = changed(&mut watch) => Wake::Files,
            };
        }
        tracing::debug!("discovery stopped");
    }

    /// Re-reads the SD files off the async threads; a file that fails keeps its old specs.
    async fn reload_files(&mut self) {
        if self.patterns.is_empty() {
            return;
        }
        let patterns = Arc::clone(&self.patterns);
        let previous = self.file_specs.clone();
        match tokio::task::spawn_blocking(move || load_files(&patterns, previous)).await {
            Ok(file_specs) => self.file_specs = file_specs,
            Err(err) => tracing::error!(error = %err, "reading SD files failed"),
        }
    }

    /// Resolves every current spec (`all`) or only those without a result yet, and forgets
    /// specs that are gone.
    async fn resolve(&mut self, all: bool) {
        let specs: BTreeSet<EndpointSpec> = self
            .static_specs
            .iter()
            .chain(self.file_specs.values().flatten())
            .cloned()
            .collect();
        let mut previous = std::mem::take(&mut self.resolved);
        let (known, due): (Vec<_>, Vec<_>) = specs
            .into_iter()
            .partition(|spec| !all && spec.is_dynamic() && previous.contains_key(spec));
        for spec in known {
            if let Some(addresses) = previous.remove(&spec) {
                self.resolved.insert(spec, addresses);
            }
        }
        let resolver = &*self.resolver;
        let mut lookups = futures::stream::iter(due)
            .map(|spec| async move {
                let result = resolve_spec(resolver, &spec).await;
                (spec, result)
            })
            .buffer_unordered(LOOKUP_CONCURRENCY);
        while let Some((spec, result)) = lookups.next().await {
            match result {
                Ok(addresses) => {
                    if addresses.is_empty() {
                        tracing::warn!(%spec, "lookup returned no addresses");
                    }
                    self.resolved.insert(spec, addresses);
                }
                Err(err) => {
                    let kept = previous.remove(&spec);
                    let kept_count = kept.as_ref().map_or(0, Vec::len);
                    tracing::warn!(
                        %spec,
                        error = %err,
                        kept = kept_count,
                        "DNS lookup failed; keeping old addresses"
                    );
                    if let Some(addresses) = kept {
                        self.resolved.insert(spec, addresses);
                    }
                }
            }
        }
    }

    /// Publishes the union of all specs' addresses if it changed.
    fn publish(&self) {
        let addresses: Addresses = self.resolved.values().flatten().cloned().collect();
        self.tx.send_if_modified(|current| {
            if *current == addresses {
                return false;
            }
            tracing::info!(count = addresses.len(), "discovered endpoints changed");
            *current = addresses;
            true
        });
    }
}

/// Waits for an SD file change, or forever when files are not watched.
async fn changed(watch: &mut Option<FileWatch>) {
    match watch {
        Some(watch) => watch.changed().await,
        None => std::future::pending().await,
    }
}

/// Reads the files the patterns name now. A file that fails to read or parse keeps the specs
/// it had in `previous` (none if it is new); files no longer named are dropped.
fn load_files(
    patterns: &[SdFilePattern],
    mut previous: BTreeMap<PathBuf, Vec<EndpointSpec>>,
) -> BTreeMap<PathBuf, Vec<EndpointSpec>> {
    let mut current = BTreeMap::new();
    for pattern in patterns {
        let paths = match pattern.expand() {
            Ok(paths) => paths,
            Err(err) => {
                tracing::warn!(error = %err, "listing SD files failed; keeping previous targets");
                // Re-reading the files it named last time keeps what can still be read.
                previous
                    .keys()
                    .filter(|path| pattern.matches(path))
                    .cloned()
                    .collect()
            }
        };
        for path in paths {
            match file_sd::read_file(&path) {
                Ok(specs) => {
                    current.insert(path, specs);
                }
                Err(err) => {
                    tracing::warn!(error = %err, "SD file unusable; keeping its previous targets");
                    if let Some(specs) = previous.remove(&path) {
                        current.insert(path, specs);
                    }
                }
            }
        }
    }
    current
}

#[cfg(test)]
mod tests;
