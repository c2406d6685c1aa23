//! The endpoint set: one store per discovered address, kept healthy-or-not by polling `Info`
//! (upstream: thanos pkg/query/endpointset.go; THANOS.md §5).
//!
//! Every [`HealthCheckConfig::interval`] each endpoint gets an `Info` call bounded by
//! [`HealthCheckConfig::info_timeout`]. A success records what the endpoint announced; a failure
//! keeps the old announcement, records the error, and takes the endpoint out of the fan-out at
//! once (silently for queries, as in Thanos, but shown as down in [`EndpointSet::statuses`]).
//! Addresses that leave discovery are dropped. Two endpoints of one component type announcing
//! the same external label set are reported (a `warn!` log and [`EndpointSet::warnings`]), not
//! silently merged.
//!
//! Knows nothing of gRPC (stores come from a [`Connector`]) nor of where addresses come from (a
//! watch channel feeds [`EndpointSet::run`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use chrono::{DateTime, SecondsFormat, Utc};
use futures::future::join_all;
use shared::api::{StoreStatus, Stores};
use shared::labels::Labels;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use super::config::HealthCheckConfig;
use super::proxy::{StoreRef, StoreSet};
use crate::storeapi::{ComponentType, Store, StoreError, StoreInfo};

/// Creates the store handle for an address (the gRPC client in production, in-memory stores in
/// tests). Called again at the next check when it fails.
pub trait Connector: Send + Sync {
    /// A store for `address` (`host:port`). Should not wait for the network: reachability is the
    /// health check's business.
    fn connect(&self, address: &str) -> Result<Arc<dyn Store>, StoreError>;
}

/// A store handle, or why none could be created.
type Connection = Result<Arc<dyn Store>, StoreError>;

impl<F> Connector for F
where
    F: Fn(&str) -> Result<Arc<dyn Store>, StoreError> + Send + Sync,
{
    fn connect(&self, address: &str) -> Result<Arc<dyn Store>, StoreError> {
        self(address)
    }
}

/// The outcome of the latest health check.
#[derive(Debug, Clone)]
struct Check {
    at: SystemTime,
    /// `None` when the check succeeded.
    error: Option<String>,
}

/// What the set knows about one address.
#[derive(Default)]
struct Endpoint {
    /// `None` until the connector succeeds.
    store: Option<Arc<dyn Store>>,
    /// The last successful announcement, kept while the endpoint is down.
    info: Option<Arc<StoreInfo>>,
    last_success: Option<SystemTime>,
    /// `None` until the first check ends.
    last_check: Option<Check>,
}

impl Endpoint {
    /// Whether the last check succeeded (so the store and its announcement are known).
    fn is_up(&self) -> bool {
        self.last_check.as_ref().is_some_and(|c| c.error.is_none())
    }

    /// The store as the proxy queries it, when the endpoint is up.
    fn queryable(&self, address: &str) -> Option<StoreRef> {
        if !self.is_up() {
            return None;
        }
        Some(StoreRef {
            address: address.to_string(),
            store: Arc::clone(self.store.as_ref()?),
            info: Arc::clone(self.info.as_ref()?),
        })
    }

    fn status(&self, address: &str) -> Option<(ComponentType, StoreStatus)> {
        let check = self.last_check.as_ref()?;
        let component = self
            .info
            .as_ref()
            .map_or(ComponentType::Unknown, |info| info.component);
        let (min_time, max_time) = self
            .info
            .as_ref()
            .and_then(|info| info.time_range)
            .map_or((i64::MIN, i64::MAX), |r| (r.min_ms(), r.max_ms()));
        let label_sets = self
            .info
            .as_ref()
            .map(|info| {
                info.label_sets
                    .iter()
                    .filter(|set| !set.is_empty())
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        let status = StoreStatus {
            name: address.to_string(),
            last_check: rfc3339(check.at),
            last_successful_check: self.last_success.map(rfc3339),
            last_error: check.error.clone(),
            label_sets,
            min_time,
            max_time,
        };
        Some((component, status))
    }
}

fn collect_addresses<A>(addresses: &A) -> BTreeSet<String>
where
    for<'a> &'a A: IntoIterator<Item = &'a String>,
{
    addresses.into_iter().cloned().collect()
}

fn rfc3339(t: SystemTime) -> String {
    DateTime::<Utc>::from(t).to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// All endpoints, keyed (and so sorted) by address.
#[derive(Default)]
struct State {
    endpoints: BTreeMap<String, Endpoint>,
    /// One line per external label set announced by several endpoints of one type.
    duplicates: Vec<String>,
    /// Set once the first address list has been checked.
    ready: bool,
}

/// The endpoints the querier fans out to. Cheap to share (`Arc`); all methods take `&self`.
pub struct EndpointSet {
    connector: Arc<dyn Connector>,
    config: HealthCheckConfig,
    state: Mutex<State>,
}

impl EndpointSet {
    /// An empty set creating stores with `connector`.
    pub fn new(connector: Arc<dyn Connector>, config: HealthCheckConfig) -> Self {
        Self {
            connector,
            config,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves only plain data behind, still consistent enough
        // to report and to replace at the next check.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Follows `addresses` until `shutdown`: new addresses are checked at once, removed ones
    /// dropped, and every endpoint is checked every interval. Any address collection will do
    /// (discovery publishes a sorted list; tests use sets).
    pub async fn run<A>(&self, mut addresses: watch::Receiver<A>, shutdown: CancellationToken)
    where
        for<'a> &'a A: IntoIterator<Item = &'a String>,
    {
        let mut ticks = tokio::time::interval(self.config.interval);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let initial = collect_addresses(&*addresses.borrow_and_update());
        self.set_addresses(&initial);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                changed = addresses.changed() => {
                    if changed.is_err() {
                        tracing::debug!("address source closed; keeping the current endpoints");
                        shutdown.cancelled().await;
                        return;
                    }
                    let current = collect_addresses(&*addresses.borrow_and_update());
                    let added = self.set_addresses(&current);
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = self.check(&added) => {}
                    }
                }
                _ = ticks.tick() => {
                    let all: Vec<String> = self.state().endpoints.keys().cloned().collect();
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = self.check(&all) => {}
                    }
                    self.state().ready = true;
                }
            }
        }
    }

    /// Makes the set hold exactly `addresses`; returns the ones that are new.
    pub fn set_addresses(&self, addresses: &BTreeSet<String>) -> Vec<String> {
        let mut state = self.state();
        state.endpoints.retain(|address, _| {
            let keep = addresses.contains(address);
            if !keep {
                tracing::info!(endpoint = %address, "endpoint removed: no longer discovered");
            }
            keep
        });
        let mut added = Vec::new();
        for address in addresses {
            if !state.endpoints.contains_key(address) {
                tracing::info!(endpoint = %address, "endpoint discovered");
                state.endpoints.insert(address.clone(), Endpoint::default());
                added.push(address.clone());
            }
        }
        update_duplicates(&mut state);
        added
    }

    /// Health-checks the given endpoints concurrently (an `Info` call each, bounded by the info
    /// timeout) and records the outcomes.
    pub async fn check(&self, addresses: &[String]) {
        let targets: Vec<(String, Connection)> = {
            let mut state = self.state();
            addresses
                .iter()
                .filter_map(|address| {
                    let endpoint = state.endpoints.get_mut(address)?;
                    let store = match &endpoint.store {
                        Some(store) => Ok(Arc::clone(store)),
                        None => self
                            .connector
                            .connect(address)
                            .inspect(|store| endpoint.store = Some(Arc::clone(store))),
                    };
                    Some((address.clone(), store))
                })
                .collect()
        };
        let timeout = self.config.info_timeout;
        let outcomes = join_all(targets.into_iter().map(|(address, store)| async move {
            let outcome = match store {
                Ok(store) => match tokio::time::timeout(timeout, store.info()).await {
                    Ok(outcome) => outcome,
                    Err(_) => Err(StoreError::DeadlineExceeded(format!(
                        "no Info answer in {}",
                        humantime::format_duration(timeout)
                    ))),
                },
                Err(error) => Err(error),
            };
            (address, outcome)
        }))
        .await;
        let now = SystemTime::now();
        let mut state = self.state();
        for (address, outcome) in outcomes {
            // The address may have left discovery while its check ran.
            let Some(endpoint) = state.endpoints.get_mut(&address) else {
                continue;
            };
            record(&address, endpoint, outcome, now);
        }
        update_duplicates(&mut state);
    }

    /// Endpoint status for `/api/v1/stores`: grouped by component type, sorted by address.
    ///
    /// Unlike Thanos, endpoints whose `Info` never succeeded are listed too, under
    /// `unknown-store-api` with their error, so a dead endpoint is visible; a down endpoint that
    /// answered before stays under its last known type with its last announcement. Endpoints
    /// not yet checked are left out. Empty label sets are not shown (as in Thanos).
    pub fn statuses(&self) -> Stores {
        let state = self.state();
        let mut stores = Stores::new();
        for (address, endpoint) in &state.endpoints {
            if let Some((component, status)) = endpoint.status(address) {
                stores
                    .entry(component.as_str().to_string())
                    .or_default()
                    .push(status);
            }
        }
        stores
    }

    /// Problems with the set as a whole, one line each: currently, external label sets announced
    /// by several healthy endpoints of the same component type. Meant for the `warnings` of the
    /// `/api/v1/stores` answer.
    pub fn warnings(&self) -> Vec<String> {
        self.state().duplicates.clone()
    }

    /// Whether the first full health check has run (the querier's readiness).
    pub fn is_ready(&self) -> bool {
        self.state().ready
    }
}

impl StoreSet for EndpointSet {
    fn queryable(&self) -> Vec<StoreRef> {
        let state = self.state();
        state
            .endpoints
            .iter()
            .filter_map(|(address, endpoint)| endpoint.queryable(address))
            .collect()
    }
}

/// Records one check's outcome, logging up/down transitions.
fn record(
    address: &str,
    endpoint: &mut Endpoint,
    outcome: Result<StoreInfo, StoreError>,
    now: SystemTime,
) {
    let was_up = endpoint.is_up();
    match outcome {
        Ok(info) => {
            if !was_up {
                tracing::info!(endpoint = %address, component = %info.component, "endpoint is up");
            }
            endpoint.info = Some(Arc::new(info));
            endpoint.last_success = Some(now);
            endpoint.last_check = Some(Check {
                at: now,
                error: None,
            });
        }
        Err(error) => {
            let error = error.to_string();
            if was_up || endpoint.last_check.is_none() {
                tracing::warn!(endpoint = %address, %error, "endpoint is down; not queried until it answers Info again");
            } else {
                tracing::debug!(endpoint = %address, %error, "endpoint still down");
            }
            endpoint.last_check = Some(Check {
                at: now,
                error: Some(error),
            });
        }
    }
}

/// Recomputes the duplicate label-set report, logging lines that are new.
fn update_duplicates(state: &mut State) {
    let mut owners: BTreeMap<(ComponentType, &Labels), Vec<&str>> = BTreeMap::new();
    for (address, endpoint) in &state.endpoints {
        let Some(info) = endpoint.info.as_ref().filter(|_| endpoint.is_up()) else {
            continue;
        };
        for set in info.label_sets.iter().filter(|set| !set.is_empty()) {
            owners
                .entry((info.component, set))
                .or_default()
                .push(address);
        }
    }
    let duplicates: Vec<String> = owners
        .into_iter()
        .filter(|(_, addresses)| addresses.len() > 1)
        .map(|((component, set), addresses)| {
            format!(
                "{component} endpoints {} all announce the external labels {set}",
                addresses.join(", ")
            )
        })
        .collect();
    for line in duplicates
        .iter()
        .filter(|line| !state.duplicates.contains(line))
    {
        tracing::warn!(problem = %line, "duplicate external labels: these endpoints' series will be merged as one");
    }
    state.duplicates = duplicates;
}

#[cfg(test)]
mod tests;
