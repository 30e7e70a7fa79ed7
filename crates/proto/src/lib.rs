//! gRPC contracts between reservation and the inventory and payment services.
