package import EmiliaModel
package import Foundation
import Synchronization

/// Session facts passed from a backend's writer to its session folder in the same process: what ingest read from
/// an event's parsed document, so the folder need not parse the stored body again. Only an optimisation: the
/// folder reads the body of any event it does not find here (after a restart, on another node, past the bound),
/// and gets the same facts.
package final class FoldHandoff: Sendable {
    private struct Entry {
        var timeZone: String
        var facts: SessionFacts
    }

    private struct State {
        var entries: [String: Entry] = [:]
        /// Event ids in the order they were handed over, from `head` on (to drop the oldest when full).
        var order: [String] = []
        var head = 0
    }

    /// How many events may wait for the folder; past it the oldest are dropped (a folder elsewhere takes none).
    package static let capacity = 20_000
    private let state = Mutex(State())

    package init() {}

    /// How many events wait for the folder, and how many ids are kept to order them (consumed ones too).
    package var waiting: (events: Int, ordered: Int) {
        state.withLock { state in (state.entries.count, state.order.count - state.head) }
    }

    /// Hands over the facts of events just committed: `(event id, event)` for each new event.
    package func committed(_ stored: some Sequence<(String, IncomingEvent)>) {
        state.withLock { state in
            for (eventID, event) in stored {
                guard let facts = event.sessionFacts else { continue }
                state.entries[eventID] = Entry(timeZone: event.timeZone, facts: facts)
                state.order.append(eventID)
            }
            // The oldest go first: past the capacity, and once the ids kept in order (consumed ones too) pass twice it.
            while state.entries.count > Self.capacity || state.order.count - state.head > 2 * Self.capacity {
                state.entries[state.order[state.head]] = nil
                state.head += 1
            }
            if state.head > 1_024, state.head * 2 > state.order.count {
                state.order.removeFirst(state.head)
                state.head = 0
            }
        }
    }

    /// The facts of a stored event: those handed over when it was committed here and read in the same zone, else
    /// read from its body. Nil when the event is not part of a session.
    package func facts(eventID: String, receivedAt: Date, body: Data, timeZone: String, zones: TimeZoneCache) -> SessionFacts? {
        let handed = state.withLock { state in state.entries.removeValue(forKey: eventID) }
        if let handed, handed.timeZone == timeZone { return handed.facts.stored(as: eventID, receivedAt: receivedAt) }
        return SessionState.facts(eventID: eventID, receivedAt: receivedAt, body: body, timeZone: zones.zone(named: timeZone))
    }
}
