//! The ticketing domain: venues, seats, allocation, holds, orders and the checkout saga's
//! states. No I/O: the services (inventory, payment, reservation) store and move these.

pub mod allocation;
pub mod ids;
pub mod money;
pub mod payment;
pub mod states;
pub mod venue;

pub use allocation::{Allocation, Allocator, FreeSeat};
pub use ids::{SeatRef, is_valid_event_id, is_valid_idempotency_key, is_valid_resource_id};
pub use money::{MoneyError, total_cents};
pub use payment::{PaymentMethod, PaymentMethodError, SandboxChoice};
pub use states::{HoldState, OrderState, PaymentState, SagaStep, UnknownState};
pub use venue::{Layout, Section, SectionSpec, Unit, Venue, VenueError, VenueSpec};
