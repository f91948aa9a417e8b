//! The defining property of each shape, for 3, 5 and 7 nodes and many seeds.

use std::collections::BTreeSet;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::*;

const SIZES: [u32; 3] = [3, 5, 7];
const SEEDS: u64 = 50;

fn cases() -> impl Iterator<Item = (Vec<NodeName>, ChaCha8Rng)> {
    SIZES.into_iter().flat_map(|n| {
        (0..SEEDS).map(move |seed| (NodeName::cluster(n), ChaCha8Rng::seed_from_u64(seed)))
    })
}

/// The nodes that drop packets from no one and whom no one drops.
fn untouched(grudge: &Grudge, nodes: &[NodeName]) -> BTreeSet<NodeName> {
    let touched = grudge.nodes();
    nodes
        .iter()
        .filter(|n| !touched.contains(n))
        .cloned()
        .collect()
}

/// `a` and `b` are each fully connected inside and fully cut from each
/// other, in both directions.
fn assert_split(grudge: &Grudge, a: &BTreeSet<NodeName>, b: &BTreeSet<NodeName>) {
    for x in a.iter().chain(b) {
        let own = if a.contains(x) { a } else { b };
        let other = if a.contains(x) { b } else { a };
        for y in own {
            assert!(
                grudge.connected(x, y),
                "{x} and {y} should connect in {grudge:?}"
            );
        }
        for y in other {
            assert!(grudge.drops(x, y), "{x} should drop {y} in {grudge:?}");
        }
    }
}

fn assert_isolated(grudge: &Grudge, victim: &NodeName, nodes: &[NodeName]) {
    let rest: BTreeSet<NodeName> = nodes.iter().filter(|n| *n != victim).cloned().collect();
    assert_split(grudge, &BTreeSet::from([victim.clone()]), &rest);
    assert_eq!(grudge.pairs().count(), 2 * rest.len());
}

#[test]
fn isolate_one_cuts_off_exactly_one_node() {
    for (nodes, mut rng) in cases() {
        let grudge = isolate_one(&nodes, &mut rng).unwrap();
        let victims: Vec<&NodeName> = nodes
            .iter()
            .filter(|n| grudge.visible_to(n, &nodes).len() == 1)
            .collect();
        assert_eq!(victims.len(), 1, "{grudge:?}");
        assert_isolated(&grudge, victims[0], &nodes);
    }
}

#[test]
fn isolate_one_picks_every_node_eventually() {
    let nodes = NodeName::cluster(5);
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let victims: BTreeSet<NodeName> = (0..100)
        .map(|_| {
            let g = isolate_one(&nodes, &mut rng).unwrap();
            nodes
                .iter()
                .find(|n| g.visible_to(n, &nodes).len() == 1)
                .unwrap()
                .clone()
        })
        .collect();
    assert_eq!(victims.len(), 5);
}

#[test]
fn isolate_leader_cuts_off_the_leader() {
    for (nodes, _) in cases() {
        for leader in &nodes {
            let grudge = isolate_leader(&nodes, Some(leader)).unwrap();
            assert_isolated(&grudge, leader, &nodes);
        }
        assert_eq!(isolate_leader(&nodes, None), Err(ShapeError::NoLeader));
        let stranger = NodeName::from("n99");
        assert!(matches!(
            isolate_leader(&nodes, Some(&stranger)),
            Err(ShapeError::UnknownNode { .. })
        ));
    }
}

#[test]
fn halves_split_into_minority_and_majority() {
    for (nodes, mut rng) in cases() {
        let grudge = halves(&nodes, &mut rng).unwrap();
        let first = grudge.visible_to(&nodes[0], &nodes);
        let rest: BTreeSet<NodeName> = nodes
            .iter()
            .filter(|n| !first.contains(n))
            .cloned()
            .collect();
        assert_split(&grudge, &first, &rest);
        let mut sizes = [first.len(), rest.len()];
        sizes.sort_unstable();
        assert_eq!(sizes, [nodes.len() / 2, majority(nodes.len())]);
    }
}

#[test]
fn majorities_ring_gives_every_node_a_different_majority() {
    for (nodes, mut rng) in cases() {
        let grudge = majorities_ring(&nodes, &mut rng).unwrap();
        let views: BTreeSet<BTreeSet<NodeName>> = nodes
            .iter()
            .map(|n| {
                let view = grudge.visible_to(n, &nodes);
                assert!(view.contains(n), "{n} must see itself");
                assert_eq!(view.len(), majority(nodes.len()), "{n} sees {view:?}");
                view
            })
            .collect();
        assert_eq!(
            views.len(),
            nodes.len(),
            "two nodes share a majority: {grudge:?}"
        );
    }
}

#[test]
fn bridge_joins_two_halves_through_one_node() {
    for (nodes, mut rng) in cases() {
        let grudge = bridge(&nodes, &mut rng).unwrap();
        let bridges = untouched(&grudge, &nodes);
        assert_eq!(bridges.len(), 1, "{grudge:?}");
        let rest: Vec<NodeName> = nodes
            .iter()
            .filter(|n| !bridges.contains(n))
            .cloned()
            .collect();
        let a = grudge.visible_to(&rest[0], &rest);
        let b: BTreeSet<NodeName> = rest.iter().filter(|n| !a.contains(n)).cloned().collect();
        assert_split(&grudge, &a, &b);
        let half = (nodes.len() - 1) / 2;
        assert!(a.len().min(b.len()) == half && a.len().max(b.len()) == nodes.len() - 1 - half);
        // Neither half is a majority; each half with the bridge is one.
        for side in [&a, &b] {
            assert!(side.len() < majority(nodes.len()));
            assert!(side.len() + 1 >= majority(nodes.len()));
        }
    }
}

#[test]
fn shapes_depend_only_on_the_node_set_and_the_seed() {
    let sorted = NodeName::cluster(5);
    let mut shuffled = sorted.clone();
    shuffled.reverse();
    shuffled.push(sorted[0].clone());
    for shape in PartitionShape::ALL {
        let leader = Some(&sorted[2]);
        let a = shape.grudge(&sorted, leader, &mut ChaCha8Rng::seed_from_u64(42));
        let b = shape.grudge(&shuffled, leader, &mut ChaCha8Rng::seed_from_u64(42));
        assert_eq!(a, b, "{}", shape.name());
    }
}

#[test]
fn too_few_nodes_is_a_typed_error() {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let two = NodeName::cluster(2);
    let err = bridge(&two, &mut rng).unwrap_err();
    assert_eq!(
        err.to_string(),
        "partition shape bridge needs at least 3 nodes, the cluster has 2"
    );
    assert!(majorities_ring(&two, &mut rng).is_err());
    assert!(halves(&NodeName::cluster(1), &mut rng).is_err());
    assert!(isolate_one(&[], &mut rng).is_err());
}

#[test]
fn shape_names_are_kebab_case() {
    for shape in PartitionShape::ALL {
        let json = serde_json::to_string(&shape).unwrap();
        assert_eq!(json, format!("\"{}\"", shape.name()));
        assert_eq!(
            serde_json::from_str::<PartitionShape>(&json).unwrap(),
            shape
        );
    }
}
