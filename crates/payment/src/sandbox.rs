//! The sandbox provider: a stand-in PSP with configurable latency, decline and timeout
//! rates, and full refunds of captured charges. A product feature for demos and load tests, not a test double: it keeps its own
//! ledger (in the payment database) so its decisions survive restarts like a real PSP's.

use std::time::Duration;

use breakwater_ticketing::{PaymentMethod, SandboxChoice};
use sqlx::Row;

use crate::clock::now_ms;
use crate::db::Database;
use crate::provider::{Charge, PaymentProvider, ProviderError, ProviderOutcome, Refund};

/// How the sandbox behaves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SandboxSettings {
    /// Mean answer latency; each call takes between half and one and a half of it.
    pub latency_ms: u64,
    /// Share of `sandbox` charges declined.
    pub decline_rate: f64,
    /// Share of `sandbox` charges that time out (answer later).
    pub timeout_rate: f64,
    /// How long after the charge a timed-out charge's outcome becomes known.
    pub settle_after_ms: u64,
    /// Share of timed-out charges that end captured (the rest end declined).
    pub timeout_capture_rate: f64,
}

/// The sandbox provider.
#[derive(Debug, Clone)]
pub struct Sandbox {
    settings: SandboxSettings,
    db: Database,
}

/// The sandbox's decision for one charge.
struct Decision {
    approve: bool,
    settle_at_ms: i64,
}

impl Sandbox {
    /// A sandbox keeping its ledger in `db`.
    pub fn new(settings: SandboxSettings, db: Database) -> Self {
        Self { settings, db }
    }

    fn decide(&self, choice: SandboxChoice, now: i64) -> Decision {
        let later = now.saturating_add(i64::try_from(self.settings.settle_after_ms).unwrap_or(0));
        let timed_out = |s: &SandboxSettings| Decision {
            approve: rand::random::<f64>() < s.timeout_capture_rate,
            settle_at_ms: later,
        };
        let at_once = |approve| Decision {
            approve,
            settle_at_ms: now,
        };
        match choice {
            SandboxChoice::Approve => at_once(true),
            SandboxChoice::Decline => at_once(false),
            SandboxChoice::Timeout => timed_out(&self.settings),
            SandboxChoice::Random => {
                let draw = rand::random::<f64>();
                if draw < self.settings.decline_rate {
                    at_once(false)
                } else if draw < self.settings.decline_rate + self.settings.timeout_rate {
                    timed_out(&self.settings)
                } else {
                    at_once(true)
                }
            }
        }
    }

    async fn simulate_latency(&self) {
        let mean = self.settings.latency_ms;
        if mean == 0 {
            return;
        }
        let jitter = rand::random_range(0..=mean);
        tokio::time::sleep(Duration::from_millis(mean / 2 + jitter)).await;
    }

    async fn ledger_entry(&self, reference: &str) -> Result<Option<(bool, i64)>, ProviderError> {
        let row = sqlx::query(
            "SELECT outcome, settle_at_ms FROM pay_sandbox_charges WHERE reference = $1",
        )
        .bind(reference)
        .fetch_optional(&self.db.write)
        .await
        .map_err(unavailable)?;
        row.map(|row| {
            let outcome: String = row.try_get("outcome").map_err(unavailable)?;
            let settle_at: i64 = row.try_get("settle_at_ms").map_err(unavailable)?;
            Ok((outcome == "approve", settle_at))
        })
        .transpose()
    }
}

fn unavailable(error: sqlx::Error) -> ProviderError {
    ProviderError::Unavailable(error.to_string())
}

fn outcome(reference: &str, approve: bool, settle_at_ms: i64, now: i64) -> ProviderOutcome {
    if settle_at_ms > now {
        ProviderOutcome::Pending
    } else if approve {
        ProviderOutcome::Captured {
            provider_reference: format!("sbx_{reference}"),
        }
    } else {
        ProviderOutcome::Declined {
            reason: "sandbox declined the charge".into(),
        }
    }
}

#[async_trait::async_trait]
impl PaymentProvider for Sandbox {
    async fn charge(&self, charge: &Charge) -> Result<ProviderOutcome, ProviderError> {
        let PaymentMethod::Sandbox(choice) = PaymentMethod::parse(&charge.method)
            .map_err(|_| ProviderError::UnsupportedMethod(charge.method.clone()))?;
        self.simulate_latency().await;
        let now = now_ms();
        let decision = self.decide(choice, now);
        // The first decision for a reference wins; a repeated charge reads it back.
        sqlx::query(
            "INSERT INTO pay_sandbox_charges (reference, outcome, settle_at_ms, created_at_ms) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (reference) DO NOTHING",
        )
        .bind(&charge.reference)
        .bind(if decision.approve {
            "approve"
        } else {
            "decline"
        })
        .bind(decision.settle_at_ms)
        .bind(now)
        .execute(&self.db.write)
        .await
        .map_err(unavailable)?;
        let (approve, settle_at) = self
            .ledger_entry(&charge.reference)
            .await?
            .ok_or_else(|| ProviderError::Unavailable("charge vanished".into()))?;
        Ok(outcome(&charge.reference, approve, settle_at, now_ms()))
    }

    async fn status(&self, reference: &str) -> Result<Option<ProviderOutcome>, ProviderError> {
        let entry = self.ledger_entry(reference).await?;
        Ok(entry.map(|(approve, settle_at)| outcome(reference, approve, settle_at, now_ms())))
    }

    async fn refund(&self, refund: &Refund) -> Result<String, ProviderError> {
        self.simulate_latency().await;
        let now = now_ms();
        match self.ledger_entry(&refund.reference).await? {
            Some((true, settle_at)) if settle_at <= now => {}
            _ => {
                return Err(ProviderError::Refused(format!(
                    "the sandbox captured no charge {:?}",
                    refund.reference
                )));
            }
        }
        // One refund per charge: a repeated refund finds the first.
        sqlx::query(
            "INSERT INTO pay_sandbox_refunds (reference, created_at_ms) VALUES ($1, $2) \
             ON CONFLICT (reference) DO NOTHING",
        )
        .bind(&refund.reference)
        .bind(now)
        .execute(&self.db.write)
        .await
        .map_err(unavailable)?;
        Ok(format!("sbx_refund_{}", refund.reference))
    }
}
