//! smtpdcheck's decision board (`decide.rs`): `decide()` on any board, and
//! on boards learning the truth in any order.

use proptest::prelude::*;

use smtpbox::smtpdcheck::decide::{Availability, Board, StopMatch, Verdict};

use crate::checks::server_args::{check_decision, check_run};
use crate::config;

fn prio() -> impl Strategy<Value = Option<u16>> {
    // few distinct prios, so peers of the stop server are common
    prop_oneof![
        Just(None),
        (0u16..3).prop_map(Some),
        any::<u16>().prop_map(Some)
    ]
}

fn stop_match() -> impl Strategy<Value = StopMatch> {
    prop::sample::select(vec![StopMatch::Unknown, StopMatch::Yes, StopMatch::No])
}

fn availability() -> impl Strategy<Value = Availability> {
    prop::sample::select(vec![
        Availability::Unknown,
        Availability::Up,
        Availability::Down,
    ])
}

/// A run: prios, whether `--stop` was given, the truth that will be learnt
/// (stop matches, up or down) and the order in which the 2n facts arrive.
#[derive(Clone, Debug)]
struct Run {
    prios: Vec<Option<u16>>,
    stop_given: bool,
    stop: Vec<bool>,
    up: Vec<bool>,
    order: Vec<usize>,
}

fn run() -> impl Strategy<Value = Run> {
    (0usize..8, any::<bool>())
        .prop_flat_map(|(n, stop_given)| {
            (
                prop::collection::vec(prio(), n),
                Just(stop_given),
                prop::collection::vec(prop::bool::weighted(0.25), n),
                prop::collection::vec(any::<bool>(), n),
                Just((0..2 * n).collect::<Vec<_>>()).prop_shuffle(),
            )
        })
        .prop_map(|(prios, stop_given, stop, up, order)| Run {
            stop: if stop_given {
                stop
            } else {
                vec![false; prios.len()]
            },
            prios,
            stop_given,
            up,
            order,
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn decide_never_panics_on_any_board(
        (prios, stop, availability, stop_given) in (0usize..8).prop_flat_map(|n| (
            prop::collection::vec(prio(), n),
            prop::collection::vec(stop_match(), n),
            prop::collection::vec(availability(), n),
            any::<bool>(),
        )),
    ) {
        let mut board = Board::new(prios, stop_given);
        for (index, (m, a)) in stop.iter().zip(&availability).enumerate() {
            board.set_stop_match(index, *m);
            board.set_availability(index, *a);
            prop_assert_eq!(board.stop_match(index), *m);
        }
        check_decision(&board, &availability);
        let complete = !stop.contains(&StopMatch::Unknown)
            && !availability.contains(&Availability::Unknown);
        if complete {
            prop_assert!(board.decide().is_some(), "complete board undecided");
            if board.decide() == Some(Verdict::NoneAvailable) {
                for (i, a) in availability.iter().enumerate() {
                    prop_assert!(board.excluded(i) || *a == Availability::Down, "server {} up", i);
                }
            }
        }
    }

    #[test]
    fn decide_is_monotonic_and_matches_the_rule(run in run()) {
        check_run(&run.prios, run.stop_given, &run.stop, &run.up, &run.order);
    }
}
