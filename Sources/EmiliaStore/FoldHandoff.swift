package import EmiliaModel
package import Foundation
import Synchronization

/// Session facts passed from a backend's writer to its session folder in the same process: what ingest read from
/// an event's parsed document, so the folder need not parse the stored body again. Only an optimisation: the
/// folder reads the body of any event it does not find here (after a restart, on another node, past the bounds),
/// and gets the same facts.
package final class FoldHandoff: Sendable {
    private struct Entry {
        var timeZone: String
        var facts: SessionFacts
        /// The event's body size, what its facts are counted as against `byteCapacity`.
        var bytes: Int
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var bytes = 0
        /// Event ids in the order they were handed over, from `head` on (to drop the oldest when full).
        var order: [String] = []
        var head = 0

        mutating func remove(_ eventID: String) -> Entry? {
            guard let entry = entries.removeValue(forKey: eventID) else { return nil }
            bytes -= entry.bytes
            return entry
        }
    }

    /// How many events may wait for the folder; past it the oldest are dropped. A folder takes an event within its
    /// next pass (a fraction of a second), so this is room for a burst; on a node whose folder is elsewhere, facts
    /// are dropped unread.
    package static let capacity = 4_096
    /// How many body bytes the waiting facts may stand for (facts can be nearly as large as their body).
    package static let byteCapacity = 8 * 1024 * 1024
    /// The largest body whose facts are handed over (ingest does not read facts for larger ones).
    package static let largestBody = byteCapacity / 64
    private let state = Mutex(State())

    package init() {}

    /// How many events wait for the folder, their body bytes, and how many ids are kept to order them (taken ones too).
    package var waiting: (events: Int, bytes: Int, ordered: Int) {
        state.withLock { state in (state.entries.count, state.bytes, state.order.count - state.head) }
    }

    /// Hands over the facts of events about to be committed: `(event id, event)` for each. Those of an event that
    /// is not stored after all (a duplicate, a failed commit) are never taken, and go when newer ones push them out.
    package func handOver(_ events: some Sequence<(String, IncomingEvent)>) {
        state.withLock { state in
            for (eventID, event) in events {
                guard let facts = event.sessionFacts, event.body.count <= Self.largestBody else { continue }
                _ = state.remove(eventID)
                state.entries[eventID] = Entry(timeZone: event.timeZone, facts: facts, bytes: event.body.count)
                state.bytes += event.body.count
                state.order.append(eventID)
            }
            // The oldest go first: past either capacity, and once the ids kept in order (taken ones too) pass twice
            // the event capacity.
            while state.entries.count > Self.capacity || state.bytes > Self.byteCapacity
                || state.order.count - state.head > 2 * Self.capacity
            {
                _ = state.remove(state.order[state.head])
                state.head += 1
            }
            if state.head > 1_024, state.head * 2 > state.order.count {
                state.order.removeFirst(state.head)
                state.head = 0
            }
        }
    }

    /// The facts handed over for a stored event and read in the same zone, taken (asked again: nil); nil when there
    /// are none, and the folder must read them from the event's body.
    package func take(eventID: String, receivedAt: Date, timeZone: String) -> SessionFacts? {
        guard let handed = state.withLock({ state in state.remove(eventID) }), handed.timeZone == timeZone else { return nil }
        return handed.facts.stored(as: eventID, receivedAt: receivedAt)
    }

    /// The facts of a stored event: those handed over for it and read in the same zone, else read from its body.
    /// Nil when the event is not part of a session.
    package func facts(eventID: String, receivedAt: Date, body: Data, timeZone: String, zones: TimeZoneCache) -> SessionFacts? {
        take(eventID: eventID, receivedAt: receivedAt, timeZone: timeZone)
            ?? SessionState.facts(eventID: eventID, receivedAt: receivedAt, body: body, timeZone: zones.zone(named: timeZone))
    }
}
