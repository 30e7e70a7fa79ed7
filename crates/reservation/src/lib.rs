//! Reservation service: holds, orders and the checkout saga.
