//! Happy Eyeballs (RFC 8305 §5): attempts on a host's addresses start one
//! after another, each [`CONNECTION_ATTEMPT_DELAY`] after the previous or at
//! once when the previous failed; the first success wins and the others are
//! cancelled (dropped).
//!
//! An "attempt" is whatever the caller needs to call an address usable: for
//! both applets that is a connection that greets `220`, so a host whose
//! first address accepts TCP but never greets is still reached through its
//! second one.

use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use tokio::time::Instant;

/// RFC 8305 §5: the recommended delay between connection attempts.
pub const CONNECTION_ATTEMPT_DELAY: Duration = Duration::from_millis(250);

/// Runs `attempt` on `addresses` Happy-Eyeballs style; returns the first
/// success, or every failure in the order they happened.
pub async fn race<T, E, F, Fut>(
    addresses: &[SocketAddr],
    delay: Duration,
    mut attempt: F,
) -> Result<T, Vec<E>>
where
    F: FnMut(SocketAddr) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut running: Vec<Pin<Box<Fut>>> = Vec::new();
    let mut failures = Vec::new();
    let mut next = addresses.iter();
    let mut next_start = Instant::now();
    loop {
        if running.is_empty() || Instant::now() >= next_start {
            if let Some(&address) = next.next() {
                running.push(Box::pin(attempt(address)));
                next_start = Instant::now() + delay;
            } else if running.is_empty() {
                return Err(failures);
            }
        }
        let more_to_start = next.len() > 0;
        let mut start_timer = Box::pin(tokio::time::sleep_until(next_start));
        let finished = poll_fn(|cx| {
            for (index, attempt) in running.iter_mut().enumerate() {
                if let Poll::Ready(result) = attempt.as_mut().poll(cx) {
                    return Poll::Ready(Some((index, result)));
                }
            }
            if more_to_start && start_timer.as_mut().poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            Poll::Pending
        })
        .await;
        match finished {
            Some((_, Ok(success))) => return Ok(success),
            Some((index, Err(failure))) => {
                drop(running.remove(index));
                failures.push(failure);
                // RFC 8305 §5: a failed attempt starts the next one at once.
                next_start = Instant::now();
            }
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addresses(n: u8) -> Vec<SocketAddr> {
        (1..=n)
            .map(|i| SocketAddr::from(([192, 0, 2, i], 25)))
            .collect()
    }

    fn paused_runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("test runtime")
    }

    /// How the attempt on one test address ends.
    #[derive(Clone, Copy)]
    enum Attempt {
        SucceedsAfter(Duration),
        Fails,
    }

    #[test]
    fn the_first_success_wins_and_failures_hurry_the_next_attempt() {
        use Attempt::{Fails, SucceedsAfter};
        let slow = SucceedsAfter(Duration::from_secs(10));
        let quick = SucceedsAfter(Duration::from_millis(10));
        let at_once = SucceedsAfter(Duration::ZERO);
        // (attempts in address order, winning address, time to the win)
        let cases = [
            // a slow first address is overtaken by the second, started 250 ms on
            (vec![slow, quick], 1, Duration::from_millis(260)),
            // a failure starts the next attempt at once
            (vec![Fails, Fails, at_once], 2, Duration::ZERO),
        ];
        for (attempts, winner, elapsed) in cases {
            let list = addresses(attempts.len() as u8);
            paused_runtime().block_on(async {
                let start = Instant::now();
                let won = race(&list, CONNECTION_ATTEMPT_DELAY, |a| {
                    let position = list.iter().position(|l| *l == a).unwrap_or_default();
                    let attempt = attempts[position];
                    async move {
                        match attempt {
                            SucceedsAfter(time) => {
                                tokio::time::sleep(time).await;
                                Ok(a)
                            }
                            Fails => Err(a),
                        }
                    }
                })
                .await;
                assert_eq!(won, Ok(list[winner]));
                assert_eq!(start.elapsed(), elapsed);
            });
        }
    }

    #[test]
    fn all_failures_are_returned_in_order() {
        paused_runtime().block_on(async {
            let result: Result<(), _> =
                race(&addresses(3), CONNECTION_ATTEMPT_DELAY, |a| async move {
                    Err(a.ip().to_string())
                })
                .await;
            assert_eq!(
                result,
                Err(vec![
                    "192.0.2.1".to_owned(),
                    "192.0.2.2".to_owned(),
                    "192.0.2.3".to_owned()
                ])
            );
        });
    }

    #[test]
    fn no_addresses_is_no_success() {
        paused_runtime().block_on(async {
            let result: Result<(), Vec<()>> =
                race(&[], CONNECTION_ATTEMPT_DELAY, |_| async { Ok(()) }).await;
            assert_eq!(result, Err(vec![]));
        });
    }
}
