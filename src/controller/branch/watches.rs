//! What wakes a branch besides its own watch: the poller (a pending branch changed) and the
//! credentials Secrets (a fixed Secret is picked up at once).
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::api::PartialObjectMeta;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{Controller, WatchStreamExt, watcher};
use kube::{Api, ResourceExt};

use super::BranchReconciler;
use crate::controller::{object_ref_key, waiting_on_credentials};
use crate::crd::branch::PlanetScaleBranch;
use crate::crd::conditions::is_ready_for;

/// Adds the poller's wake-ups and the credentials Secret watches to the controller of
/// `namespace` (`None`: all namespaces).
pub fn add(
    r: &Arc<BranchReconciler>,
    mut controller: Controller<PlanetScaleBranch>,
    namespace: Option<&str>,
) -> Controller<PlanetScaleBranch> {
    let store = controller.store();
    let (wake, woken) = futures::channel::mpsc::unbounded();
    r.wakes
        .lock()
        .expect("lock")
        .push((namespace.map(str::to_string), wake));
    let woken_r = r.clone();
    controller = controller.reconcile_on(woken.map(move |o: ObjectRef<PlanetScaleBranch>| {
        // Let the woken reconcile through the schedule.
        woken_r.schedule.wake(&object_ref_key(&o));
        o
    }));
    controller = controller.reconcile_on(webhook_hints(r, store.clone()));
    controller = crate::controller::target::watch_databases(
        r,
        controller,
        namespace,
        |b: &PlanetScaleBranch| b.spec.database_ref.as_ref(),
        |b| b.location().is_none(),
    );
    let client = r.ctx.client.clone();
    let secrets: Api<PartialObjectMeta<Secret>> = match namespace {
        None => Api::all(client),
        Some(ns) => Api::namespaced(client, ns),
    };
    let mapper = secret_mapper(store.clone(), r.clone());
    controller = controller.watches(secrets, crate::stores::watch_config(), mapper);
    if let Some(changes) = default_secret_changes(r, namespace, store) {
        controller = controller.reconcile_all_on(changes);
    }
    controller
}

/// The resources of the branches webhook deliveries name: released from the poller and woken
/// (through the schedule) to read their branch.
fn webhook_hints(
    r: &Arc<BranchReconciler>,
    store: Store<PlanetScaleBranch>,
) -> impl futures::Stream<Item = ObjectRef<PlanetScaleBranch>> + Send + 'static {
    let r = r.clone();
    r.ctx.webhooks.subscribe().flat_map(move |hint| {
        let crate::webhooks::Hint::Branch {
            organization,
            database,
            name,
        } = hint
        else {
            return futures::stream::iter(Vec::new());
        };
        r.poller.release(&organization, &database, &name);
        let woken: Vec<_> = store
            .state()
            .iter()
            .filter(|b| b.location() == Some((organization.as_str(), database.as_str())))
            .filter(|b| b.spec.effective_branch_name(&b.name_any()) == name)
            .map(|b| ObjectRef::from_obj(b.as_ref()))
            .collect();
        futures::stream::iter(r.schedule.woken(woken))
    })
}

/// Changes of the default credentials Secret when it lives outside the watched namespace. Its
/// own watch with backoff (the chart may grant no `list`/`watch` there: then fixes of that
/// Secret are picked up by the slow retry), so that a failure cannot stall the main watch.
fn default_secret_changes(
    r: &Arc<BranchReconciler>,
    namespace: Option<&str>,
    store: Store<PlanetScaleBranch>,
) -> Option<impl futures::Stream<Item = ()> + Send + 'static> {
    let ns = namespace?;
    let (dns, dname) = r.ctx.credentials.defaults().secret.clone()?;
    if dns == ns {
        return None;
    }
    let api: Api<PartialObjectMeta<Secret>> = Api::namespaced(r.ctx.client.clone(), &dns);
    let wc = crate::stores::watch_config().fields(&format!("metadata.name={dname}"));
    let mapper = secret_mapper(store, r.clone());
    let warned = AtomicBool::new(false);
    let changes = watcher::watcher(api, wc)
        .default_backoff()
        .touched_objects()
        .filter_map(move |r| {
            let out = match r {
                Ok(secret) => {
                    mapper(secret); // wakes the resources that use it
                    Some(())
                }
                Err(e) if !warned.swap(true, Ordering::Relaxed) => {
                    tracing::warn!(error = %e, "cannot watch the default credentials Secret: fixes to it are picked up by the next retry");
                    None
                }
                Err(e) => {
                    tracing::debug!(error = %e, "default credentials Secret watch failed");
                    None
                }
            };
            std::future::ready(out)
        });
    Some(changes)
}

/// Maps a changed credentials Secret to the resources that use it and are not Ready (a Ready
/// branch does not need its credentials until the next resync), and lets them through the
/// schedule so that a fixed Secret is picked up at once.
fn secret_mapper(
    store: Store<PlanetScaleBranch>,
    r: Arc<BranchReconciler>,
) -> impl Fn(PartialObjectMeta<Secret>) -> Vec<ObjectRef<PlanetScaleBranch>> + Send + Sync + 'static
{
    move |secret| {
        let woken = waiting_on_credentials(
            &store,
            &r.ctx,
            &secret,
            |o: &PlanetScaleBranch| o.spec.credentials_ref.as_ref(),
            |o| {
                let ready = o
                    .status
                    .as_ref()
                    .is_some_and(|s| is_ready_for(&s.conditions, o.metadata.generation));
                !ready || o.metadata.deletion_timestamp.is_some()
            },
        );
        r.schedule.woken(woken)
    }
}
