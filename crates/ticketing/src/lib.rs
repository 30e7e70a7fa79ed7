//! The ticketing domain: venues, seats, allocation, holds, orders and the checkout saga's states. No I/O.
