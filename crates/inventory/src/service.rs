//! The gRPC face of the inventory: proto messages in, store calls, proto messages out.

use breakwater_proto::inventory as pb;
use breakwater_proto::inventory::inventory_server::Inventory;
use breakwater_ticketing::{SectionSpec, Unit, VenueSpec};
use tonic::{Request, Response, Status};

use crate::error::StoreError;
use crate::store::{
    HoldOutcome, HoldRequest, InventoryStore, Pick, PutVenueOutcome, SeatStatus, SectionView,
    Unavailability,
};

/// Implements `breakwater.inventory.v1.Inventory` over an [`InventoryStore`].
#[derive(Debug, Clone)]
pub struct InventoryService {
    store: InventoryStore,
}

impl InventoryService {
    /// A service over `store`.
    pub fn new(store: InventoryStore) -> Self {
        Self { store }
    }
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

fn to_status(error: StoreError) -> Status {
    match error {
        StoreError::EventNotFound => Status::not_found(error.to_string()),
        StoreError::VenueLocked
        | StoreError::NotPinned(_)
        | StoreError::AlreadySold(_)
        | StoreError::Pinned(_) => Status::failed_precondition(error.to_string()),
        StoreError::Invalid(_) => Status::invalid_argument(error.to_string()),
        // Transient, nothing changed: the caller may retry (not a refusal to remember).
        StoreError::Contended => Status::aborted(error.to_string()),
        StoreError::Database(_) | StoreError::Batch(_) => {
            tracing::error!(%error, "inventory database error");
            Status::unavailable("inventory database unavailable")
        }
    }
}

#[tonic::async_trait]
impl Inventory for InventoryService {
    async fn put_venue(
        &self,
        request: Request<pb::PutVenueRequest>,
    ) -> Result<Response<pb::PutVenueResponse>, Status> {
        let request = request.into_inner();
        let spec = venue_spec(&request.sections)?;
        let seats_total = spec
            .validate()
            .map_err(|error| Status::invalid_argument(error.to_string()))?
            .total_units();
        let outcome = self
            .store
            .put_venue(&request.event_id, &spec, now_ms())
            .await
            .map_err(to_status)?;
        let outcome = match outcome {
            PutVenueOutcome::Created => pb::put_venue_response::Outcome::Created,
            PutVenueOutcome::Unchanged => pb::put_venue_response::Outcome::Unchanged,
            PutVenueOutcome::Replaced => pb::put_venue_response::Outcome::Replaced,
        };
        Ok(Response::new(pb::PutVenueResponse {
            outcome: outcome.into(),
            seats_total,
        }))
    }

    async fn get_seat_map(
        &self,
        request: Request<pb::EventRef>,
    ) -> Result<Response<pb::SeatMap>, Status> {
        let event_id = request.into_inner().event_id;
        let sections = self
            .store
            .seat_map(&event_id, now_ms())
            .await
            .map_err(to_status)?;
        Ok(Response::new(pb::SeatMap {
            sections: sections.into_iter().map(section_map).collect(),
        }))
    }

    async fn hold(
        &self,
        request: Request<pb::HoldRequest>,
    ) -> Result<Response<pb::HoldResponse>, Status> {
        let request = request.into_inner();
        let pick = match request.pick {
            Some(pb::hold_request::Pick::SeatIds(seats)) => Pick::Seats(seats.ids),
            Some(pb::hold_request::Pick::Best(best)) => Pick::Best {
                quantity: best.quantity,
                section_id: Some(best.section_id).filter(|id| !id.is_empty()),
            },
            None => return Err(Status::invalid_argument("pick seat_ids or best")),
        };
        let hold = HoldRequest {
            event_id: request.event_id,
            hold_id: request.hold_id,
            pick,
            expires_at_ms: request.expires_at_ms,
        };
        let outcome = self.store.hold(&hold, now_ms()).await.map_err(to_status)?;
        Ok(Response::new(hold_response(outcome)))
    }

    async fn pin(
        &self,
        request: Request<pb::HoldRef>,
    ) -> Result<Response<pb::PinResponse>, Status> {
        let hold_id = request.into_inner().hold_id;
        let pinned = self
            .store
            .pin(&hold_id, now_ms())
            .await
            .map_err(to_status)?;
        Ok(Response::new(pb::PinResponse { pinned }))
    }

    async fn commit(
        &self,
        request: Request<pb::HoldRef>,
    ) -> Result<Response<pb::CommitResponse>, Status> {
        let hold_id = request.into_inner().hold_id;
        self.store.commit(&hold_id).await.map_err(to_status)?;
        Ok(Response::new(pb::CommitResponse {}))
    }

    async fn release(
        &self,
        request: Request<pb::HoldRef>,
    ) -> Result<Response<pb::ReleaseResponse>, Status> {
        let hold_id = request.into_inner().hold_id;
        self.store
            .release(&hold_id, now_ms())
            .await
            .map_err(to_status)?;
        Ok(Response::new(pb::ReleaseResponse {}))
    }

    async fn release_after_checkout(
        &self,
        request: Request<pb::HoldRef>,
    ) -> Result<Response<pb::ReleaseResponse>, Status> {
        let hold_id = request.into_inner().hold_id;
        self.store
            .release_after_checkout(&hold_id, now_ms())
            .await
            .map_err(to_status)?;
        Ok(Response::new(pb::ReleaseResponse {}))
    }

    async fn get_sales(
        &self,
        request: Request<pb::EventRef>,
    ) -> Result<Response<pb::Sales>, Status> {
        let event_id = request.into_inner().event_id;
        let sales = self
            .store
            .sales(&event_id, now_ms())
            .await
            .map_err(to_status)?;
        Ok(Response::new(pb::Sales {
            seats_total: sales.seats_total,
            available: sales.available,
            held: sales.held,
            sold: sales.sold,
        }))
    }
}

fn venue_spec(sections: &[pb::Section]) -> Result<VenueSpec, Status> {
    let sections = sections
        .iter()
        .map(|section| {
            let (rows, seats_per_row, capacity) = match section.layout {
                Some(pb::section::Layout::Seated(seated)) => {
                    (Some(seated.rows), Some(seated.seats_per_row), None)
                }
                Some(pb::section::Layout::GeneralAdmission(ga)) => (None, None, Some(ga.capacity)),
                None => return Err(Status::invalid_argument("a section needs a layout")),
            };
            Ok(SectionSpec {
                name: section.name.clone(),
                price_cents: section.price_cents,
                rows,
                seats_per_row,
                capacity,
            })
        })
        .collect::<Result<_, Status>>()?;
    Ok(VenueSpec { sections })
}

fn section_map(section: SectionView) -> pb::SectionMap {
    let rows = section
        .rows
        .into_iter()
        .map(|row| pb::RowMap {
            id: row.id,
            seats: row
                .seats
                .into_iter()
                .map(|seat| pb::SeatStatus {
                    id: seat.id,
                    number: seat.number,
                    status: seat_status(seat.status).into(),
                })
                .collect(),
        })
        .collect();
    pb::SectionMap {
        id: section.id,
        name: section.name,
        price_cents: section.price_cents,
        general_admission: section.general_admission,
        rows,
        available: section.available,
        capacity: section.capacity,
    }
}

fn seat_status(status: SeatStatus) -> pb::seat_status::Status {
    match status {
        SeatStatus::Available => pb::seat_status::Status::Available,
        SeatStatus::Held => pb::seat_status::Status::Held,
        SeatStatus::Sold => pb::seat_status::Status::Sold,
    }
}

fn hold_response(outcome: HoldOutcome) -> pb::HoldResponse {
    let result = match outcome {
        HoldOutcome::Held {
            seats,
            adjacent,
            expires_at_ms,
        } => pb::hold_response::Result::Held(pb::Held {
            seats: seats.into_iter().map(held_seat).collect(),
            adjacent,
            expires_at_ms,
        }),
        HoldOutcome::Unavailable { reason, seat_ids } => {
            let reason = match reason {
                Unavailability::Taken => pb::unavailable::Reason::Taken,
                Unavailability::UnknownSeats => pb::unavailable::Reason::UnknownSeats,
                Unavailability::NotEnough => pb::unavailable::Reason::NotEnough,
                Unavailability::UnknownSection => pb::unavailable::Reason::UnknownSection,
            };
            pb::hold_response::Result::Unavailable(pb::Unavailable {
                reason: reason.into(),
                seat_ids,
            })
        }
    };
    pb::HoldResponse {
        result: Some(result),
    }
}

fn held_seat(unit: Unit) -> pb::HeldSeat {
    let row_id = if unit.row == 0 {
        String::new()
    } else {
        format!("{}-r{}", unit.section_id, unit.row)
    };
    pb::HeldSeat {
        number: if unit.row == 0 { 0 } else { unit.number },
        seat_id: unit.seat_id,
        section_id: unit.section_id,
        row_id,
        price_cents: unit.price_cents,
    }
}
