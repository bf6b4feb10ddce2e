import Foundation
import Logging
import Testing

@testable import EmiliaClient

/// The outbox's messages are logged under the label an application would give them.
let outboxLogger = Logger(label: "emilia.outbox")

@Suite("What becomes of an outbox message after one attempt")
struct OutboxTransitionTests {
    static let enqueued = Date(timeIntervalSince1970: 1_764_000_000)
    static let hour: TimeInterval = 3600
    /// 1 s doubling to 60 s; with the dice at 1 the wait after attempt n is min(2^(n-1), 60) s.
    static let rules = OutboxTransition.Rules(
        policy: RetryPolicy(baseDelay: .seconds(1), maximumDelay: .seconds(60), maximumRetryAfter: .seconds(120)),
        retryBudget: .seconds(72 * 3600))

    static func failure(status: Int, retryAfter: Int? = nil) -> Result<Receipt, WebhookError> {
        .failure(.status(status, detail: "scripted", attempts: 1, retryAfterSeconds: retryAfter))
    }

    static func failure(_ code: WebhookError.Code, _ detail: String = "scripted") -> Result<Receipt, WebhookError> {
        .failure(WebhookError(code, detail: detail, attempts: 1))
    }

    /// (what the attempt got, hours since enqueued, attempts so far, what should happen: nil status means none)
    static let table: [(String, Result<Receipt, WebhookError>, TimeInterval, Int, OutboxTransition)] = [
        (
            "a 200 delivers", .success(Receipt(eventID: "e-1", isDuplicate: false, warnings: [], environment: "prod", attempts: 1)),
            1, 1, .delivered(eventID: "e-1")
        ),
        (
            "a 503 retries after the backoff", failure(status: 503), 1, 3,
            .retry(at: at(1, plus: 4), status: 503, reason: "HTTP 503: scripted")
        ),
        (
            "the backoff stops growing at its cap", failure(status: 500), 1, 20,
            .retry(at: at(1, plus: 60), status: 500, reason: "HTTP 500: scripted")
        ),
        (
            "a 429 waits its Retry-After", failure(status: 429, retryAfter: 30), 2, 1,
            .retry(at: at(2, plus: 30), status: 429, reason: "HTTP 429: scripted")
        ),
        (
            "a Retry-After is capped", failure(status: 503, retryAfter: 86_400), 2, 1,
            .retry(at: at(2, plus: 120), status: 503, reason: "HTTP 503: scripted")
        ),
        ("a timeout retries", failure(.timeout), 5, 2, .retry(at: at(5, plus: 2), status: nil, reason: "timeout: scripted")),
        ("a 400 is refused for good", failure(status: 400), 0, 1, .dead(status: 400, reason: "HTTP 400: scripted")),
        ("a 401 is refused for good", failure(status: 401), 0, 1, .dead(status: 401, reason: "HTTP 401: scripted")),
        ("a 413 is refused for good", failure(status: 413), 0, 1, .dead(status: 413, reason: "HTTP 413: scripted")),
        ("a TLS failure cannot heal by itself", failure(.tls, "untrusted"), 0, 1, .dead(status: nil, reason: "TLS failed: untrusted")),
        (
            "a transient failure past the budget parks it", failure(status: 503), 72, 200,
            .dead(status: 503, reason: "HTTP 503: scripted (still failing after the 72 h retry budget)")
        ),
        (
            "just inside the budget it still retries", failure(.connection, "reset"), 71.99, 200,
            .retry(at: at(71.99, plus: 60), status: nil, reason: "connection error: reset")
        ),
    ]

    static func at(_ hours: TimeInterval, plus seconds: TimeInterval = 0) -> Date {
        enqueued.addingTimeInterval(hours * hour + seconds)
    }

    @Test(arguments: table.indices)
    func transition(_ index: Int) {
        let (name, result, hours, attempts, expected) = Self.table[index]
        let next = Self.rules.next(after: result, createdAt: Self.enqueued, attempts: attempts, at: Self.at(hours), random: 1)
        #expect(next == expected, "\(name)")
    }

    @Test func theDiceSpreadTheBackoffOverItsWholeRange() {
        let times = [0.0, 0.5, 1].map { random in
            Self.rules.next(after: Self.failure(status: 502), createdAt: Self.enqueued, attempts: 4, at: Self.at(1), random: random)
        }
        #expect(times == [0.0, 4, 8].map { .retry(at: Self.at(1, plus: $0), status: 502, reason: "HTTP 502: scripted") })
    }
}
