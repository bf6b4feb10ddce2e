import ArgumentParser
import EmiliaClient
import EmiliaModel
import Foundation

/// `emilia generate --sessions N [--seed S]`: NDJSON of realistic events for one restaurant's day.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "generate", abstract: "Print realistic events as NDJSON.")
    @Option(help: "How many table sessions.") var sessions = 20
    @Option(help: "Random seed: the same seed gives the same events.") var seed: UInt64 = 1
    @Option(help: "The day (YYYY-MM-DD), today by default.") var date: String?
    @Option(help: "The restaurant's time zone.") var timezone = "America/Sao_Paulo"

    func run() throws {
        let zone = TimeZone(identifier: timezone) ?? .gmt
        var random = SeededRandom(seed: seed)
        let restaurant = SimulatedRestaurant.make(name: "Generated", timeZone: zone, random: &random)
        let day = date ?? LocalDay.of(Date(), in: zone)
        let night = ServiceNightGenerator(restaurant: restaurant).sessions(
            on: day, count: sessions, orderPrefix: "GEN-\(seed)", random: &random)
        for session in night {
            for payload in session.payloads { Console.line(String(decoding: payload.encoded(in: zone), as: UTF8.self)) }
        }
    }
}
