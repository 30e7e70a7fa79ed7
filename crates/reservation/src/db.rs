//! The service's database connection (see `breakwater-sqldb`).

pub use breakwater_sqldb::{Database, Engine};
