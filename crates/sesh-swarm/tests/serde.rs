//! serde round trips, and rejection of invalid maps.
#![cfg(feature = "serde")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sesh_swarm::{NodeId, SwarmId, SwarmMap};

#[test]
fn map_round_trips_through_json() {
    let map =
        SwarmMap::from_assignments((0u8..12).map(|k| {
            (NodeId::from_bytes([k; 32]), SwarmId::new(u64::from(k % 3) * 1000).unwrap())
        }))
        .unwrap();
    let json = serde_json::to_string(&map).unwrap();
    assert!(json.starts_with(r#"{"0":["0000"#), "{json}");
    assert_eq!(serde_json::from_str::<SwarmMap>(&json).unwrap(), map);
}

#[test]
fn invalid_maps_are_rejected() {
    let key = "11".repeat(32);
    // A node in two swarms.
    let twice = format!(r#"{{"1":["{key}"],"2":["{key}"]}}"#);
    let err = serde_json::from_str::<SwarmMap>(&twice).unwrap_err().to_string();
    assert!(err.contains("more than once"), "{err}");
    // The unassigned marker as a swarm.
    let unassigned = format!(r#"{{"18446744073709551615":["{key}"]}}"#);
    assert!(serde_json::from_str::<SwarmMap>(&unassigned).is_err());
    // A short key.
    assert!(serde_json::from_str::<SwarmMap>(r#"{"1":["abcd"]}"#).is_err());
    assert!(serde_json::from_str::<NodeId>(&format!("\"{key}\"")).is_ok());
}
