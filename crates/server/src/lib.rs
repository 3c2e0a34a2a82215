//! The `gan-connect` server: layered configuration and the wiring of engines, storage and web.

pub mod settings;
pub mod wiring;
