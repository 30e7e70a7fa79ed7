//! One conformance suite for the waiting room, run against every line store: the
//! embedded store, Redis standalone, and a Redis Cluster of three masters (started by the
//! harness on free loopback ports).

mod harness;
mod model;
mod scenarios;

macro_rules! conformance {
    ($($scenario:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() -> anyhow::Result<()> {
                    let harness = crate::harness::Harness::start(crate::harness::Backend::Embedded).await?;
                    crate::scenarios::$scenario(harness).await
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() -> anyhow::Result<()> {
                    let harness = crate::harness::Harness::start(crate::harness::Backend::Redis).await?;
                    crate::scenarios::$scenario(harness).await
                }
            )*
        }
        mod cluster {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() -> anyhow::Result<()> {
                    let harness = crate::harness::Harness::start(crate::harness::Backend::Cluster).await?;
                    crate::scenarios::$scenario(harness).await
                }
            )*
        }
    };
}

conformance!(
    fifo_admission_and_exact_positions,
    silent_buyer_drops_out_and_line_moves_up,
    lowered_heartbeat_timeout_applies_within_the_new_window,
    ready_buyer_who_does_not_enter_forfeits,
    admission_rate_is_paced,
    active_cap_holds_and_frees_on_leave,
    one_token_enters_once,
    tokens_of_other_events_and_forgeries_are_refused,
    recovery_after_the_store_loses_everything,
    pre_queue_is_placed_by_lottery_ahead_of_later_joins,
    paused_line_admits_nobody_until_resumed,
    leaving_moves_the_line_up,
    positions_match_a_reference_model,
    admission_rate_is_exact_at_every_rate,
    admission_rate_is_exact_with_three_gateways,
    every_fate_survives_the_store_losing_everything,
    an_ended_session_buys_nothing_more,
    a_line_started_afresh_never_reuses_a_buyer,
    the_line_knows_the_stock,
    a_join_pays_the_proof_of_work_the_event_asks_once,
    the_wait_is_an_honest_range,
);
