//! The election loop and its Lease reads and writes (see the parent module for the algorithm).
use super::*;

impl Elector {
    /// Runs rounds every `retry_period` until `stop`, then steps down.
    pub(super) async fn run(mut self, stop: CancellationToken) {
        let mut valid_until: Option<Instant> = None;
        let mut last_ok: Option<Instant> = None;
        loop {
            let started = Instant::now();
            let limit = valid_until.unwrap_or(started + self.config.renew_deadline);
            let outcome = tokio::time::timeout_at(limit, self.try_acquire_or_renew()).await;
            if matches!(outcome, Ok(Ok(_))) {
                last_ok = Some(Instant::now());
            }
            valid_until = match outcome {
                Ok(Ok(Round::Leading)) => Some(started + self.config.renew_deadline),
                Ok(Ok(Round::Following)) => None,
                Ok(Err(e)) => {
                    tracing::warn!(lease = %self.config.lease_name, error = %e, "leader election round failed");
                    valid_until
                }
                Err(_) => {
                    tracing::warn!(lease = %self.config.lease_name, "leader election round timed out");
                    valid_until
                }
            };
            valid_until = self.publish(valid_until, last_ok);
            let next = started + self.config.retry_period;
            let wake = valid_until.map_or(next, |deadline| next.min(deadline));
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tokio::time::sleep_until(wake) => {}
            }
            valid_until = self.publish(valid_until, last_ok);
        }
        self.step_down(valid_until.is_some()).await;
    }

    /// Sends the leadership and reachability state; drops leadership whose deadline passed.
    fn publish(&self, valid_until: Option<Instant>, last_ok: Option<Instant>) -> Option<Instant> {
        let now = Instant::now();
        let valid_until = valid_until.filter(|deadline| now < *deadline);
        let leading = valid_until.is_some();
        let was = self.leader.send_replace(leading);
        if was != leading {
            tracing::info!(
                lease = %self.config.lease_name,
                identity = %self.config.identity,
                leading,
                "leadership changed"
            );
        }
        let reachable = last_ok.is_some_and(|t| now.duration_since(t) < self.config.lease_duration);
        self.reachable
            .send_if_modified(|r| std::mem::replace(r, reachable) != reachable);
        valid_until
    }

    /// Flips to `false` first, then releases the lease if this replica held it.
    async fn step_down(&self, was_leading: bool) {
        self.leader.send_replace(false);
        if was_leading {
            let released = tokio::time::timeout(self.config.renew_deadline, self.release()).await;
            match released {
                Ok(Ok(())) => {
                    tracing::info!(lease = %self.config.lease_name, "leader lease released");
                }
                Ok(Err(e)) => {
                    tracing::warn!(lease = %self.config.lease_name, error = %e, "cannot release the leader lease");
                }
                Err(_) => {
                    tracing::warn!(lease = %self.config.lease_name, "releasing the leader lease timed out");
                }
            }
        }
    }

    /// One round: read the Lease, then renew it, take it over, or leave it to its holder.
    async fn try_acquire_or_renew(&mut self) -> Result<Round, kube::Error> {
        let Some(lease) = self.api.get_opt(&self.config.lease_name).await? else {
            return self.create().await;
        };
        self.observe(&lease);
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.as_deref().filter(|h| !h.is_empty());
        let mine = holder == Some(self.config.identity.as_str());
        if holder.is_some() && !mine && !self.observed_expired(&spec) {
            return Ok(Round::Following);
        }
        let next = Lease {
            metadata: lease.metadata,
            spec: Some(self.next_spec(spec, mine)),
        };
        match self
            .api
            .replace(&self.config.lease_name, &PostParams::default(), &next)
            .await
        {
            Ok(written) => {
                self.observe(&written);
                Ok(Round::Leading)
            }
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(Round::Following),
            Err(e) => Err(e),
        }
    }

    /// Creates the Lease held by this replica; losing the creation race means following.
    async fn create(&mut self) -> Result<Round, kube::Error> {
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(self.config.lease_name.clone()),
                labels: Some(
                    [(
                        "app.kubernetes.io/name".to_owned(),
                        "planetscale-operator".to_owned(),
                    )]
                    .into(),
                ),
                ..ObjectMeta::default()
            },
            spec: Some(self.next_spec(LeaseSpec::default(), false)),
        };
        match self.api.create(&PostParams::default(), &lease).await {
            Ok(created) => {
                self.observe(&created);
                Ok(Round::Leading)
            }
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(Round::Following),
            Err(e) => Err(e),
        }
    }

    /// Gives the lease up (no holder, 1 s duration) if this replica still holds it.
    async fn release(&self) -> Result<(), kube::Error> {
        let Some(lease) = self.api.get_opt(&self.config.lease_name).await? else {
            return Ok(());
        };
        let spec = lease.spec.unwrap_or_default();
        if spec.holder_identity.as_deref() != Some(self.config.identity.as_str()) {
            return Ok(());
        }
        let released = LeaseSpec {
            holder_identity: None,
            lease_duration_seconds: Some(1),
            acquire_time: None,
            renew_time: Some(crate::time::micro_now()),
            ..spec
        };
        let next = Lease {
            metadata: lease.metadata,
            spec: Some(released),
        };
        self.api
            .replace(&self.config.lease_name, &PostParams::default(), &next)
            .await?;
        Ok(())
    }

    /// The spec this replica writes: held by it, renewed now.
    fn next_spec(&self, current: LeaseSpec, mine: bool) -> LeaseSpec {
        let transitions = current.lease_transitions.unwrap_or(0);
        LeaseSpec {
            holder_identity: Some(self.config.identity.clone()),
            lease_duration_seconds: Some(self.config.lease_seconds()),
            acquire_time: if mine {
                current.acquire_time.clone()
            } else {
                Some(crate::time::micro_now())
            },
            renew_time: Some(crate::time::micro_now()),
            lease_transitions: Some(if mine { transitions } else { transitions + 1 }),
            ..current
        }
    }

    /// Remembers when this replica first saw the Lease's current version.
    fn observe(&mut self, lease: &Lease) {
        let rv = lease.metadata.resource_version.clone();
        if self
            .observed
            .as_ref()
            .is_none_or(|o| o.resource_version != rv)
        {
            self.observed = Some(Observed {
                resource_version: rv,
                at: Instant::now(),
            });
        }
    }

    /// Has the Lease stayed unchanged for its duration since this replica first saw it?
    fn observed_expired(&self, spec: &LeaseSpec) -> bool {
        let secs = spec
            .lease_duration_seconds
            .unwrap_or_else(|| self.config.lease_seconds());
        let duration = Duration::from_secs(u64::try_from(secs).unwrap_or(0));
        self.observed
            .as_ref()
            .is_none_or(|o| o.at.elapsed() >= duration)
    }
}
