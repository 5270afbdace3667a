//! Webhook series: deliveries by result, and databases by mode (webhooks or polling).
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModeLabels {
    mode: &'static str,
}

/// The webhook series (part of [`crate::metrics::Metrics`]).
#[derive(Clone, Debug, Default)]
pub struct WebhookMetrics {
    deliveries: Family<ResultLabels, Counter>,
    databases: Family<ModeLabels, Gauge>,
}

impl WebhookMetrics {
    /// Registers `webhook_deliveries_total` and `webhook_databases`.
    pub fn register(&self, r: &mut Registry) {
        r.register(
            "webhook_deliveries",
            "Webhook deliveries received, by result (accepted or the refusal reason)",
            self.deliveries.clone(),
        );
        r.register(
            "webhook_databases",
            "Databases with an operator webhook, by mode: webhooks (deliveries arrive, polling backed off) or polling",
            self.databases.clone(),
        );
        for mode in ["webhooks", "polling"] {
            let _ = self.databases.get_or_create(&ModeLabels { mode });
        }
    }

    /// Counts one delivery: `accepted` or a [`super::check::Refusal::reason`].
    pub fn delivery(&self, result: &'static str) {
        self.deliveries
            .get_or_create(&ResultLabels { result })
            .inc();
    }

    /// Sets how many databases are in each mode.
    pub fn set_modes(&self, webhooks: i64, polling: i64) {
        for (mode, n) in [("webhooks", webhooks), ("polling", polling)] {
            self.databases.get_or_create(&ModeLabels { mode }).set(n);
        }
    }
}
