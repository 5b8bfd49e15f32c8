//! Envoy counters (`wasmcustom.entra_guard.*` in Envoy's stats) for the
//! engine's counts. Envoy merges same-named metrics of all worker VMs.

use crate::engine::Counts;
use proxy_wasm::hostcalls;
use proxy_wasm::types::MetricType;

const PREFIX: &str = "entra_guard";

/// Envoy's metric id per slot of `Counts`. Counts stay in the VM and are
/// flushed on the root's tick: one host call per counter per tick instead
/// of several per request.
pub struct Metrics {
    ids: Vec<u32>,
}

impl Metrics {
    pub fn define(counts: &Counts) -> Metrics {
        let ids = counts
            .names()
            .iter()
            .map(|name| {
                // A metric the host refused still takes its slot (counted
                // into the void) so the slots keep their indices.
                hostcalls::define_metric(MetricType::Counter, &format!("{PREFIX}.{name}"))
                    .unwrap_or(u32::MAX)
            })
            .collect();
        Metrics { ids }
    }

    pub fn flush(&self, counts: &mut Counts) {
        counts.drain(|slot, pending| {
            if let Some(&id) = self.ids.get(slot) {
                if id != u32::MAX {
                    let _ =
                        hostcalls::increment_metric(id, i64::try_from(pending).unwrap_or(i64::MAX));
                }
            }
        });
    }
}
