//! A Session network's swarms over a run of blocks: nodes register, get decommissioned, come
//! back and leave, and every block the swarms are recomputed as oxend does. Prints what each
//! block changed, then the swarm sizes, and where a new account's messages would be stored.
//!
//! ```text
//! cargo run --example swarm [-- <blocks> [compat|canonical]]
//! ```

use std::collections::BTreeMap;
use std::process::ExitCode;

use rand_core::{OsRng, RngCore};
use sesh_identity::Identity;
use sesh_swarm::analysis::{largest_operator_shares, size_histogram};
use sesh_swarm::{
    Change, NodeId, NodeState, SortOrder, SwarmMap, SwarmSpace, next, seed_from_block_hash,
};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let blocks = match args.next().map(|b| b.parse::<u32>()) {
        None => 60,
        Some(Ok(b)) if b > 0 => b,
        Some(_) => {
            eprintln!("error: <blocks> must be a positive number");
            return ExitCode::FAILURE;
        }
    };
    let order = match args.next().as_deref() {
        None | Some("compat") => SortOrder::Compat,
        Some("canonical") => SortOrder::Canonical,
        Some(other) => {
            eprintln!("error: unknown order {other:?}: use compat or canonical");
            return ExitCode::FAILURE;
        }
    };
    match run(blocks, order) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn short(node: &NodeId) -> String {
    node.to_string().chars().take(8).collect()
}

fn pick<T: Copy>(items: &[T], rng: &mut OsRng) -> Option<T> {
    if items.is_empty() {
        return None;
    }
    items.get(rng.next_u32() as usize % items.len()).copied()
}

fn run(blocks: u32, order: SortOrder) -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = OsRng;
    let mut states: BTreeMap<NodeId, NodeState> = BTreeMap::new();
    // Operators run several nodes each: node -> operator, for the share analysis at the end.
    let mut operator_of: BTreeMap<NodeId, u32> = BTreeMap::new();
    let mut map = SwarmMap::new();
    let mut previous_hash = [0u8; 32];

    for height in 1..=blocks {
        // Churn: a burst of registrations early on, then a few events per block.
        let registrations = if height <= 10 { 12 } else { (rng.next_u32() % 4) as usize };
        for _ in 0..registrations {
            let node =
                NodeId::from_bytes(*Identity::generate(&mut rng).ed25519_public_key().as_bytes());
            states.insert(node, NodeState::Active);
            operator_of.insert(node, rng.next_u32() % 40);
        }
        let active: Vec<NodeId> =
            states.iter().filter(|(_, s)| **s == NodeState::Active).map(|(k, _)| *k).collect();
        if height > 10 {
            for _ in 0..rng.next_u32() % 3 {
                let Some(node) = pick(&active, &mut rng) else { break };
                let state = if rng.next_u32().is_multiple_of(2) {
                    NodeState::Decommissioned
                } else {
                    NodeState::Removed
                };
                states.insert(node, state);
            }
            // A decommissioned node sometimes comes back (and is placed again like a newcomer).
            let resting: Vec<NodeId> = states
                .iter()
                .filter(|(_, s)| **s == NodeState::Decommissioned)
                .map(|(k, _)| *k)
                .collect();
            if rng.next_u32().is_multiple_of(3)
                && let Some(node) = pick(&resting, &mut rng)
            {
                states.insert(node, NodeState::Active);
            }
        }

        // The block hash seeds the assignment; here a hash chain stands in for the blocks.
        let hash: [u8; 32] =
            sesh_identity::hash::blake2b(b"", &[&previous_hash, &height.to_le_bytes()]);
        previous_hash = hash;
        let transition =
            next(&map, states.iter().map(|(k, s)| (*k, *s)), seed_from_block_hash(&hash), order)?;

        let (mut joined, mut left, mut moved) = (0, 0, Vec::new());
        for change in transition.changes() {
            match change {
                Change::Joined { .. } => joined += 1,
                Change::Left { .. } => left += 1,
                Change::Moved { node, from, to } => {
                    moved.push(format!("{} {from}→{to}", short(node)))
                }
            }
        }
        if !transition.changes().is_empty() {
            print!(
                "block {height:>3}: {:>3} nodes in {:>2} swarms; +{joined} joined, -{left} left",
                transition.map().node_count(),
                transition.map().swarm_count()
            );
            if !moved.is_empty() {
                print!(", moved: {}", moved.join(", "));
            }
            for id in transition.new_swarms() {
                print!("; new swarm {id}");
            }
            for id in transition.dissolved_swarms() {
                print!("; swarm {id} dissolved");
            }
            println!();
        }
        map = transition.into_map();
    }

    println!("\nswarm sizes (size: swarms):");
    for (size, count) in size_histogram(&map) {
        println!("  {size:>2}: {}", "#".repeat(count));
    }
    let shares = largest_operator_shares(&map, |node| operator_of.get(node).copied());
    if let Some(worst) = shares.iter().max_by(|a, b| a.fraction().total_cmp(&b.fraction())) {
        println!(
            "largest share of one swarm held by one operator (of 40): {}/{} of swarm {}",
            worst.held, worst.size, worst.swarm
        );
    }

    let account = Identity::generate(&mut rng);
    let id = account.session_id();
    let space = SwarmSpace::of_account(&id.to_bytes());
    if let Some(swarm) = map.swarm_for(space) {
        println!("\na new account {id}");
        println!("  swarm space {:#018x} → swarm {swarm}, stored by:", space.get());
        for node in map.members(swarm) {
            println!("    {node}");
        }
    }
    Ok(())
}
