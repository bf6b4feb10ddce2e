import EmiliaServer
import Foundation
import Testing

/// Bounds on how long one restaurant waits behind another. They measure wall-clock latency, so
/// `scripts/test.sh` runs this suite on its own, after the others, on an otherwise idle machine.
@Suite("Latency bounds (run alone)", .serialized, .timeLimit(.minutes(3)))
struct LatencyBoundTests {
    @Test(.timeLimit(.minutes(3)))
    func aHugeItemsAddedDoesNotStallAnotherRestaurant() async throws {
        try await TestServer.with(configure: { $0.rateLimitBurst = 1000 }) { server in
            let (_, big) = try await server.createToken(name: "Big")
            let (_, small) = try await server.createToken(name: "Small")
            let items = (0..<90_000).map { #"{"name":"Dish \#($0)","timestamp":"2025-11-24T19:00:00-03:00","employee_id":1,"price":1}"# }
            let body = Data(
                (#"{"event":"items_added","order_id":"BIG","table_number":"Mesa 1","timestamp":"2025-11-24T19:00:00-03:00","items":["#
                    + items.joined(separator: ",") + "]}").utf8)
            #expect(body.count > 7 * 1024 * 1024)
            async let bigAnswer = server.post(token: big, body: body)
            // While the big one is parsed, stored and folded, the other restaurant's posts are answered quickly.
            var slowest: Duration = .zero
            for index in 0..<10 {
                let started = ContinuousClock.now
                let answer = try await server.post(
                    token: small,
                    body: Data(
                        #"{"event":"session_opened","order_id":"S\#(index)","table_number":"Mesa 2","timestamp":"2025-11-24T19:00:00-03:00"}"#
                            .utf8))
                slowest = max(slowest, ContinuousClock.now - started)
                #expect(answer.status == 200)
            }
            let answer = try await bigAnswer
            #expect(answer.status == 200)
            #expect(try answer.warningCodes() == ["too_many_items"])
            #expect(slowest < .seconds(1), "another restaurant waited \(slowest)")
        }
    }
}
