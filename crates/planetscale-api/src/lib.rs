//! Typed client for the PlanetScale HTTP API.
