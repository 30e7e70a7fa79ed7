//! Payment service: payment intents with idempotency keys and a sandbox provider.
