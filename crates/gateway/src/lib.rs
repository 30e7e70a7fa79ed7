//! The HTTP gateway: waiting room API, admin API, access checks and forwarding to the ticketing backend.
