//! What the wire does with each packet: pass it on, hold it, delay it or drop it — the controls
//! of the `wire` verb, without any I/O (the relay reads and writes the TUN devices).
//!
//! Every packet gets an id (1, 2, ... in arrival order), which `wire deliver ID` / `wire drop ID`
//! name and the ladder shows on a held segment. A packet is first drawn for loss (a seeded
//! generator: the same seed and the same traffic drop the same packets), then held if hold is
//! on, then delayed if its direction has a delay; a released held packet still takes the delay.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::command::{DEFAULT_SEED, Direction};
use crate::model::WireMark;

/// One packet in the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub id: u64,
    pub direction: Direction,
    pub bytes: Vec<u8>,
    /// Its segment in the capture, when it decoded as TCP or UDP.
    pub segment: Option<u64>,
    /// A copy the sender's retransmission timer sent again (the capture says so).
    pub retransmission: bool,
}

/// What became of a packet just now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fate {
    /// Goes to the other host now.
    Deliver(Packet),
    /// Waits (held or delayed): the mark the ladder shows.
    Wait(Option<u64>, WireMark),
    /// Thrown away.
    Dropped(Option<u64>),
}

/// Why a control could not be done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    NothingHeld,
    NoSuchHeld(u64),
    /// `wire nat ...`: the NAT refused the rule (a duplicate, a chain, no such rule).
    Nat(crate::net::nat::RuleError),
}

#[derive(Debug, Clone)]
struct Loss {
    ppm: u32,
    seed: u64,
    draw: fastrand::Rng,
}

/// The wire's settings and the packets waiting in it.
#[derive(Debug, Clone)]
pub struct Controls {
    hold: bool,
    delay: [Duration; 2],
    loss: Loss,
    held: VecDeque<Packet>,
    /// Delayed packets with the time each is due, in the order they are due per direction.
    delayed: VecDeque<(Instant, Packet)>,
    next_id: u64,
    pub dropped: u64,
    pub lost: u64,
    pub relayed: u64,
}

impl Default for Controls {
    fn default() -> Self {
        Self {
            hold: false,
            delay: [Duration::ZERO; 2],
            loss: Loss {
                ppm: 0,
                seed: DEFAULT_SEED,
                draw: fastrand::Rng::with_seed(DEFAULT_SEED),
            },
            held: VecDeque::new(),
            delayed: VecDeque::new(),
            next_id: 1,
            dropped: 0,
            lost: 0,
            relayed: 0,
        }
    }
}

impl Controls {
    #[must_use]
    pub fn hold(&self) -> bool {
        self.hold
    }

    #[must_use]
    pub fn delay(&self, direction: Direction) -> Duration {
        self.delay[direction.index()]
    }

    /// The loss rate in millionths and its seed.
    #[must_use]
    pub fn loss(&self) -> (u32, u64) {
        (self.loss.ppm, self.loss.seed)
    }

    /// The held packets, oldest first.
    pub fn held(&self) -> impl Iterator<Item = &Packet> {
        self.held.iter()
    }

    #[must_use]
    pub fn delayed_count(&self) -> usize {
        self.delayed.len()
    }

    /// The id the next packet gets.
    pub fn take_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// A packet that just entered the wire. Only TCP segments and UDP datagrams (what the
    /// ladder shows and `wire deliver ID` can name) are held, delayed or lost; anything else the
    /// hosts' kernels send (IPv6 neighbour discovery on a fresh device) passes as on a cable.
    pub fn arrive(&mut self, packet: Packet, now: Instant) -> Fate {
        if packet.segment.is_none() {
            self.relayed += 1;
            return Fate::Deliver(packet);
        }
        if self.loss.ppm > 0 && self.loss.draw.u32(..1_000_000) < self.loss.ppm {
            self.lost += 1;
            self.dropped += 1;
            return Fate::Dropped(packet.segment);
        }
        if self.hold {
            let segment = packet.segment;
            self.held.push_back(packet);
            return Fate::Wait(segment, WireMark::Held);
        }
        self.onward(packet, now)
    }

    /// A packet past the hold: delayed, or delivered now.
    fn onward(&mut self, packet: Packet, now: Instant) -> Fate {
        let delay = self.delay[packet.direction.index()];
        if delay.is_zero() {
            self.relayed += 1;
            return Fate::Deliver(packet);
        }
        let segment = packet.segment;
        let due = now + delay;
        // Kept sorted by due time (a delay changed midway may put a packet before others).
        let at = self.delayed.partition_point(|(other, _)| *other <= due);
        self.delayed.insert(at, (due, packet));
        Fate::Wait(segment, WireMark::Delayed)
    }

    /// The held packet `id`, or without one the next in the conversation: the oldest that is not
    /// a retransmission (while a segment is held the sender's timer keeps sending copies of it,
    /// which would otherwise come first in line), else the oldest.
    fn take_held(&mut self, id: Option<u64>) -> Result<Packet, Refusal> {
        let position = match id {
            None => self
                .held
                .iter()
                .position(|packet| !packet.retransmission)
                .or((!self.held.is_empty()).then_some(0))
                .ok_or(Refusal::NothingHeld)?,
            Some(id) => self
                .held
                .iter()
                .position(|packet| packet.id == id)
                .ok_or(Refusal::NoSuchHeld(id))?,
        };
        Ok(self.held.remove(position).expect("position is in range"))
    }

    /// `wire deliver [ID]`.
    pub fn deliver(&mut self, id: Option<u64>, now: Instant) -> Result<Fate, Refusal> {
        let packet = self.take_held(id)?;
        Ok(self.onward(packet, now))
    }

    /// `wire drop [ID]`.
    pub fn drop_held(&mut self, id: Option<u64>) -> Result<Fate, Refusal> {
        let packet = self.take_held(id)?;
        self.dropped += 1;
        Ok(Fate::Dropped(packet.segment))
    }

    /// `wire hold on|off`; turning it off lets every held packet go on, oldest first.
    pub fn set_hold(&mut self, on: bool, now: Instant) -> Vec<Fate> {
        self.hold = on;
        if on {
            return Vec::new();
        }
        let held: Vec<Packet> = self.held.drain(..).collect();
        held.into_iter()
            .map(|packet| self.onward(packet, now))
            .collect()
    }

    /// `wire delay DURATION [DIRECTION]`.
    pub fn set_delay(&mut self, delay: Duration, direction: Option<Direction>) {
        for each in Direction::BOTH {
            if direction.is_none_or(|only| only == each) {
                self.delay[each.index()] = delay;
            }
        }
    }

    /// `wire loss PERCENT seed N`: the draw starts again from the seed.
    pub fn set_loss(&mut self, ppm: u32, seed: u64) {
        self.loss = Loss {
            ppm,
            seed,
            draw: fastrand::Rng::with_seed(seed),
        };
    }

    /// `wire reset`: no hold, no delay, no loss; what waited goes on now, in order.
    pub fn reset(&mut self, now: Instant) -> Vec<Packet> {
        self.delay = [Duration::ZERO; 2];
        self.set_loss(0, DEFAULT_SEED);
        let mut out: Vec<Packet> = self.delayed.drain(..).map(|(_, packet)| packet).collect();
        self.relayed += out.len() as u64;
        // With no delay left, every held packet is delivered (and counted) at once.
        for fate in self.set_hold(false, now) {
            if let Fate::Deliver(packet) = fate {
                out.push(packet);
            }
        }
        out
    }

    /// Forgets every packet waiting (a reset lab: nothing in the wire belongs to it any more).
    pub fn clear(&mut self) {
        self.held.clear();
        self.delayed.clear();
        self.dropped = 0;
        self.lost = 0;
        self.relayed = 0;
    }

    /// When the next delayed packet is due.
    #[must_use]
    pub fn next_due(&self) -> Option<Instant> {
        self.delayed.front().map(|(due, _)| *due)
    }

    /// The delayed packets due at `now`, in order.
    pub fn due(&mut self, now: Instant) -> Vec<Packet> {
        let count = self.delayed.partition_point(|(due, _)| *due <= now);
        self.relayed += count as u64;
        self.delayed
            .drain(..count)
            .map(|(_, packet)| packet)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(controls: &mut Controls, direction: Direction) -> Packet {
        let id = controls.take_id();
        Packet {
            id,
            direction,
            bytes: vec![id as u8],
            segment: Some(id),
            retransmission: false,
        }
    }

    #[test]
    fn deliver_without_an_id_passes_over_retransmitted_copies() {
        let now = Instant::now();
        let mut controls = Controls::default();
        controls.set_hold(true, now);
        let mut copy = packet(&mut controls, Direction::AToB);
        copy.retransmission = true;
        controls.arrive(copy, now);
        let new = packet(&mut controls, Direction::BToA);
        controls.arrive(new, now);
        assert!(matches!(controls.deliver(None, now), Ok(Fate::Deliver(p)) if p.id == 2));
        // Only copies left: the oldest goes.
        assert!(matches!(controls.deliver(None, now), Ok(Fate::Deliver(p)) if p.id == 1));
    }

    #[test]
    fn held_packets_go_on_one_by_one_or_all_at_once() {
        let now = Instant::now();
        let mut controls = Controls::default();
        let first = packet(&mut controls, Direction::AToB);
        assert!(matches!(controls.arrive(first.clone(), now), Fate::Deliver(p) if p == first));
        controls.set_hold(true, now);
        for _ in 0..3 {
            let held = packet(&mut controls, Direction::BToA);
            assert_eq!(
                controls.arrive(held, now),
                Fate::Wait(Some(controls.next_id - 1), WireMark::Held)
            );
        }
        assert_eq!(controls.held().count(), 3);
        assert!(matches!(controls.deliver(Some(3), now), Ok(Fate::Deliver(p)) if p.id == 3));
        assert_eq!(controls.deliver(Some(3), now), Err(Refusal::NoSuchHeld(3)));
        assert_eq!(controls.drop_held(None), Ok(Fate::Dropped(Some(2))));
        let rest = controls.set_hold(false, now);
        assert!(matches!(rest.as_slice(), [Fate::Deliver(p)] if p.id == 4));
        assert_eq!(controls.deliver(None, now), Err(Refusal::NothingHeld));
        assert_eq!(controls.dropped, 1);
    }

    #[test]
    fn a_delay_is_one_way_and_keeps_the_order() {
        let now = Instant::now();
        let mut controls = Controls::default();
        controls.set_delay(Duration::from_millis(200), Some(Direction::AToB));
        let back = packet(&mut controls, Direction::BToA);
        assert!(matches!(controls.arrive(back, now), Fate::Deliver(_)));
        for _ in 0..2 {
            let out = packet(&mut controls, Direction::AToB);
            assert!(matches!(
                controls.arrive(out, now),
                Fate::Wait(_, WireMark::Delayed)
            ));
        }
        assert_eq!(controls.next_due(), Some(now + Duration::from_millis(200)));
        assert!(controls.due(now + Duration::from_millis(199)).is_empty());
        let due = controls.due(now + Duration::from_millis(200));
        assert_eq!(due.iter().map(|p| p.id).collect::<Vec<_>>(), [2, 3]);
        assert_eq!(controls.next_due(), None);
    }

    #[test]
    fn loss_is_seeded_and_near_its_rate() {
        let now = Instant::now();
        let run = |seed| {
            let mut controls = Controls::default();
            controls.set_loss(20_000, seed);
            (0..10_000)
                .map(|_| {
                    let p = packet(&mut controls, Direction::AToB);
                    matches!(controls.arrive(p, now), Fate::Dropped(_))
                })
                .collect::<Vec<bool>>()
        };
        let first = run(7);
        assert_eq!(first, run(7));
        assert_ne!(first, run(8));
        let lost = first.iter().filter(|&&lost| lost).count();
        assert!((100..300).contains(&lost), "{lost} of 10000 at 2%");
    }

    #[test]
    fn reset_lets_everything_waiting_go_on() {
        let now = Instant::now();
        let mut controls = Controls::default();
        controls.set_delay(Duration::from_secs(1), None);
        let delayed = packet(&mut controls, Direction::AToB);
        controls.arrive(delayed, now);
        controls.set_hold(true, now);
        let held = packet(&mut controls, Direction::AToB);
        controls.arrive(held, now);
        let out = controls.reset(now);
        assert_eq!(out.iter().map(|p| p.id).collect::<Vec<_>>(), [1, 2]);
        assert!(!controls.hold());
        assert_eq!(controls.delay(Direction::AToB), Duration::ZERO);
        assert_eq!(controls.next_due(), None);
    }
}
