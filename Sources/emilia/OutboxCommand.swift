import ArgumentParser
import AsyncHTTPClient
import EmiliaClient
import EmiliaModel
import Foundation
import Logging

/// `emilia outbox status|deliver|requeue`: what a (possibly crashed) process left in an outbox, finishing it, and
/// giving dead messages another chance.
struct OutboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox", abstract: "Inspect or drain a durable outbox.",
        subcommands: [Status.self, Deliver.self, Requeue.self])

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Counts of pending, delivered and dead messages.")
        @OptionGroup var file: OutboxFileOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let box = try file.open(existing: true)
            let counts = try await box.counts()
            if output.json {
                try Console.json(counts)
                return
            }
            Console.line("pending \(counts.pending), delivered \(counts.delivered), dead \(counts.dead)")
            let now = Date()
            for message in try await box.retryingMessages(limit: 20) {
                Console.line(
                    "retrying #\(message.id): \(message.attempts) attempt(s) over \(Self.span(now.timeIntervalSince(message.createdAt))), "
                        + "next in \(Self.span(message.nextAttemptAt.timeIntervalSince(now))): \(message.lastError ?? "")")
            }
            for message in try await box.deadMessages(limit: 20) {
                Console.line("dead #\(message.id) after \(message.attempts) attempt(s): \(message.lastError ?? "")")
            }
            if counts.dead > 0 { Console.line("Put dead messages back with: emilia outbox requeue --outbox \(file.outbox)") }
        }

        /// "2 h 5 min", "4 min", "12 s".
        static func span(_ seconds: TimeInterval) -> String {
            let whole = max(0, Int(seconds.rounded()))
            if whole >= 3600 { return "\(whole / 3600) h \(whole % 3600 / 60) min" }
            if whole >= 60 { return "\(whole / 60) min" }
            return "\(whole) s"
        }
    }

    struct Deliver: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Deliver everything pending, then exit.")
        @OptionGroup var file: OutboxFileOptions
        @Option(help: "A PEM CA certificate to trust, for an HTTPS server with a self-signed certificate.") var caFile: String?

        func run() async throws {
            let box = try file.open(existing: true)
            guard let destination = try await box.destination() else { throw CommandFailure("this outbox has no destination yet") }
            let counts = try await HTTPClient.withWebhookHTTPClient(trustingCAFile: caFile) { http in
                let client = WebhookClient(
                    token: destination.token, environment: destination.environment,
                    baseURL: destination.baseURL, http: http)
                return try await OutboxDelivery(outbox: box, client: client, logger: Logger(label: "emilia.outbox")).drain()
            }
            Console.line("pending \(counts.pending), delivered \(counts.delivered), dead \(counts.dead)")
        }
    }

    struct Requeue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put dead messages back to pending, due now, with a fresh 72 h retry budget.",
            discussion: "Without --id, every dead message. A requeued message may reach the server after later messages of its order.")
        @OptionGroup var file: OutboxFileOptions
        @Flag(help: "Every dead message (the default).") var all = false
        @Option(name: .customLong("id"), help: "A dead message's id (repeatable).") var ids: [Int64] = []
        @OptionGroup var output: OutputOptions

        func validate() throws {
            if all && !ids.isEmpty { throw ValidationError("use either --all or --id, not both") }
        }

        func run() async throws {
            let box = try file.open(existing: true)
            let requeued = try await box.requeueDead(ids: ids.isEmpty ? nil : ids)
            let counts = try await box.counts()
            if output.json {
                try Console.json(Requeued(requeued: requeued, pending: counts.pending, delivered: counts.delivered, dead: counts.dead))
                return
            }
            Console.line(
                "requeued \(requeued) dead message(s); pending \(counts.pending), delivered \(counts.delivered), dead \(counts.dead)")
        }
    }

    /// `requeue --json`: how many were put back, and the counts after.
    struct Requeued: Encodable {
        var requeued: Int
        var pending: Int
        var delivered: Int
        var dead: Int
    }
}
