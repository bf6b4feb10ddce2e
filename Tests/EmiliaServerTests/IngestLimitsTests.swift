import AsyncAlgorithms
import AsyncHTTPClient
import EmiliaIngest
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

@testable import EmiliaServer

/// A clock tests move by hand.
final class ManualClock: Sendable {
    private let seconds = Mutex(0.0)
    var now: Double { seconds.withLock { $0 } }
    func advance(_ by: Double) { seconds.withLock { $0 += by } }
}

/// The rate limit and the body limit, each path on its own: what the contract promises at their edges.
@Suite("Ingest limits", .timeLimit(.minutes(2)))
struct IngestLimitsTests {
    @Test func theBucketRefillsAtItsRateUpToTheBurst() {
        let clock = ManualClock()
        let limiter = RateLimiter(rate: 2, burst: 3, now: { clock.now })
        #expect((0..<3).map { _ in limiter.acquire("a") } == [nil, nil, nil])
        #expect(limiter.acquire("a") == 1)  // (1 − 0) / 2 = 0.5 s, rounded up
        #expect(limiter.acquire("b") == nil, "buckets are per key")
        clock.advance(0.5)
        #expect(limiter.acquire("a") == nil, "half a second brings one request back at 2/s")
        #expect(limiter.acquire("a") == 1)
        clock.advance(60)
        #expect((0..<4).map { _ in limiter.acquire("a") } == [nil, nil, nil, 1], "refills stop at the burst")
        #expect(limiter.pendingWait("a") == 1)
        clock.advance(10)
        #expect(limiter.pendingWait("a") == nil)
        #expect(limiter.pendingWait("a") == nil, "looking takes nothing")
    }

    @Test func retryAfterIsTheWholeSecondsUntilTheNextToken() {
        let clock = ManualClock()
        let limiter = RateLimiter(rate: 0.25, burst: 1, now: { clock.now })
        #expect(limiter.acquire("a") == nil)
        #expect(limiter.acquire("a") == 4)
        clock.advance(3.5)
        #expect(limiter.acquire("a") == 1)
    }

    /// One token holding slow posts cannot take the whole body budget: past its share it is refused, others go on,
    /// and what a request held comes back when it ends.
    @Test func aTokensShareOfTheBodyBudgetIsBounded() {
        let budget = ByteBudget(capacity: 40, shareLimit: 10)  // each body byte counts twice
        let greedy = (0..<5).map { _ in budget.reserve(for: "greedy") }
        #expect(greedy.allSatisfy { $0.grow(by: 1) })
        #expect(!budget.reserve(for: "greedy").grow(by: 1), "past its share")
        let other = budget.reserve(for: "other")
        #expect(other.grow(by: 5))
        #expect(budget.inUse == 20)
        greedy[0].release()
        greedy[0].release()  // twice is harmless
        #expect(budget.inUse == 18)
        #expect(budget.reserve(for: "greedy").grow(by: 1), "a share comes back when a request ends")
        #expect(!ByteBudget(capacity: 8, shareLimit: 100).reserve(for: "x").grow(by: 5), "never past the whole budget")
    }

    @Test func theDefaultLimitIs100PerSecondWithBurstsOf200() async throws {
        try await TestServer.with { server in
            let (_, token) = try await server.createToken()
            let started = ContinuousClock.now
            let statuses = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                for index in 0..<320 {
                    group.addTask {
                        let answer = try await server.post(token: token, body: Data(#"{"event":"test","n":\#(index)}"#.utf8))
                        return (answer.status, answer.status == 429 ? answer.headers["Retry-After"].first : nil)
                    }
                }
                return try await group.reduce(into: [(Int, String?)]()) { $0.append($1) }
            }
            let seconds =
                Double((ContinuousClock.now - started).components.attoseconds) / 1e18
                + Double((ContinuousClock.now - started).components.seconds)
            let accepted = statuses.filter { $0.0 == 200 }.count
            // The burst of 200 at once, plus what 100/s refilled while the posts ran; the rest 429 with Retry-After 1.
            #expect(accepted >= 200)
            #expect(Double(accepted) <= 200 + 100 * seconds + 1, "\(accepted) accepted in \(seconds) s")
            #expect(statuses.allSatisfy { $0.0 == 200 || ($0.0 == 429 && $0.1 == "1") })
            let limited = try await server.post(token: token, body: Data(#"{"event":"test","n":"last"}"#.utf8))
            if limited.status == 429 {
                #expect(try limited.json()["detail"] as? String == "Rate limit exceeded: 100 requests/s per token")
            }
        }
    }

    @Test func aDeclaredSizeOverTheLimitIsRefusedBeforeTheBodyIsRead() async throws {
        try await TestServer.with { server in
            let (_, token) = try await server.createToken()
            // 20 MiB declared, 10 bytes sent, then nothing: only the Content-Length can say 413 (not a 408 later).
            var request = HTTPClientRequest(url: "\(server.baseURL)/webhooks/v1/pos/\(token)?env=dev")
            request.method = .POST
            let (stream, continuation) = AsyncStream<ByteBuffer>.makeStream()
            continuation.yield(ByteBuffer(string: "{\"event\":\""))
            request.body = .stream(stream, length: .known(Int64(20 * 1024 * 1024)))
            let started = ContinuousClock.now
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(20))
            continuation.finish()
            #expect(response.status.code == 413)
            #expect(ContinuousClock.now - started < .seconds(10))
            let body = try await response.body.collect(upTo: 4096)
            #expect(String(buffer: body).contains("Payload too large. Max size: 10MB"))
        }
    }

    @Test func aBodyOfExactlyTheLimitIsAcceptedAndOneByteMoreIsNot() async throws {
        let limit = 64 * 1024
        try await TestServer.with(configure: { $0.maximumBodyBytes = limit }) { server in
            let (_, token) = try await server.createToken()
            func body(_ size: Int) -> Data {
                let prefix = #"{"event":"test","pad":""#
                let suffix = #""}"#
                return Data((prefix + String(repeating: "x", count: size - prefix.utf8.count - suffix.utf8.count) + suffix).utf8)
            }
            #expect(try await server.post(token: token, body: body(limit)).status == 200)
            let over = try await server.post(token: token, body: body(limit + 1))
            #expect(over.status == 413)
            #expect(try over.json()["detail"] as? String == "Payload too large. Max size: 64KB")
            // Without a Content-Length the same limit holds while streaming, with the same answer.
            for (size, status) in [(limit, 200), (limit + 1, 413)] {
                var request = HTTPClientRequest(url: "\(server.baseURL)/webhooks/v1/pos/\(token)?env=dev")
                request.method = .POST
                let bytes = body(size)
                let chunks = stride(from: 0, to: bytes.count, by: 4096).map { ByteBuffer(bytes: bytes[$0..<min($0 + 4096, bytes.count)]) }
                request.body = .stream(chunks.async, length: .unknown)
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
                let answer = try await response.body.collect(upTo: 4096)
                #expect(Int(response.status.code) == status, "streamed \(size) bytes answered \(response.status.code)")
                if status == 413 { #expect(String(buffer: answer).contains("Payload too large. Max size: 64KB")) }
            }
        }
    }
}
