import AsyncHTTPClient
import EmiliaServer
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// Posts the three fixtures of ORD-2025-0124 (in a scrambled order) and a few more sessions on 2025-11-24.
private func seedDay(_ server: TestServer, token: String, env: String = "prod") async throws {
    for file in [
        "session_complete.json", "session_opened.json", "items_added.json", "session_complete_minimal.json",
        "table_alias.json", "connection_test.json", "missing_table_number.json", "naive_timestamp.json",
    ] {
        let answer = try await server.post(token: token, env: env, body: try Fixture.data(file))
        #expect(answer.status == 200)
    }
}

@Suite("Read API: sessions, analytics, events, export, stream", .timeLimit(.minutes(3)))
struct ReadAPITests {
    @Test(arguments: Backend.allCases) func sessionsOfTheDayFoldWithinASecond(backend: Backend) async throws {
        try await TestServer.with(backend: backend) { server in
            let (id, token) = try await server.createToken()
            try await seedDay(server, token: token)
            let list = try await server.request(.GET, "/api/v1/sessions?token_id=\(id)&env=prod&date=2025-11-24", admin: true)
            #expect(list.status == 200)
            let sessions = try list.json()["sessions"] as? [[String: Any]] ?? []
            #expect(
                Set(sessions.compactMap { $0["order_id"] as? String }) == [
                    "ORD-2025-0124", "ORD-2025-0125", "ORD-2025-0202", "ORD-123", "ORD-2025-0200",
                ])
            let one = try await server.request(.GET, "/api/v1/sessions/ORD-2025-0124?token_id=\(id)&env=prod", admin: true).json()
            #expect(one["status"] as? String == "closed")
            #expect(one["table_number"] as? String == "Mesa 8")
            #expect((one["items"] as? [Any])?.count == 5)
            #expect(one["duration_seconds"] as? Int == 6300)
            #expect(one["first_item_seconds"] as? Int == 300)
            #expect((one["totals"] as? [String: Any])?["subtotal"] as? Double == 413)
            #expect((one["event_ids"] as? [Any])?.count == 3)
            #expect((one["opened_by"] as? [String: Any])?["name"] as? String == "João Silva")
            let alias = try await server.request(.GET, "/api/v1/sessions/ORD-2025-0202?token_id=\(id)&env=prod", admin: true).json()
            #expect(alias["table_number"] as? String == "Mesa 5")
            #expect(alias["status"] as? String == "open")
            // Dev sees none of it.
            let dev = try await server.request(.GET, "/api/v1/sessions?token_id=\(id)&env=dev&date=2025-11-24", admin: true)
            #expect((try dev.json()["sessions"] as? [Any])?.isEmpty == true)
            #expect(try await server.request(.GET, "/api/v1/sessions/ORD-2025-0124?token_id=\(id)&env=dev", admin: true).status == 404)
            #expect(try await server.request(.GET, "/api/v1/sessions?token_id=\(id)&date=24-11-2025", admin: true).status == 400)
            #expect(try await server.request(.GET, "/api/v1/sessions?token_id=\(UUID().uuidString)", admin: true).status == 404)
            #expect(try await server.request(.GET, "/api/v1/sessions?token_id=\(id)", admin: false).status == 401)
        }
    }

    @Test(arguments: Backend.allCases) func aSessionMovesToTheDayItOpenedWhenThatArrivesLate(backend: Backend) async throws {
        try await TestServer.with(backend: backend) { server in
            let (id, token) = try await server.createToken()
            func orders(on day: String) async throws -> [String] {
                let list = try await server.request(.GET, "/api/v1/sessions?token_id=\(id)&env=prod&date=\(day)", admin: true)
                return (try list.json()["sessions"] as? [[String: Any]] ?? []).compactMap { $0["order_id"] as? String }
            }
            let closed =
                #"{"event":"session_complete","order_id":"LATE-1","table_number":"Mesa 3","timestamp":"2025-11-25T00:30:00-03:00","totals":{"subtotal":10.00,"total":10.00}}"#
            #expect(try await server.post(token: token, env: "prod", body: Data(closed.utf8)).status == 200)
            // The fold follows the commit (within a second; longer on a machine loaded by the other suites).
            try await waitUntil { try await orders(on: "2025-11-25") == ["LATE-1"] }
            let opened = #"{"event":"session_opened","order_id":"LATE-1","table_number":"Mesa 3","timestamp":"2025-11-24T23:40:00-03:00"}"#
            #expect(try await server.post(token: token, env: "prod", body: Data(opened.utf8)).status == 200)
            try await waitUntil { try await orders(on: "2025-11-24") == ["LATE-1"] }
            #expect(try await orders(on: "2025-11-25").isEmpty)
        }
    }

    @Test(arguments: Backend.allCases) func analyticsOfTheDay(backend: Backend) async throws {
        try await TestServer.with(backend: backend) { server in
            let (id, token) = try await server.createToken()
            try await seedDay(server, token: token)
            _ = try await server.post(token: token, env: "prod", body: Data("{".utf8))
            let json = try await server.request(.GET, "/api/v1/analytics?token_id=\(id)&env=prod&date=2025-11-24", admin: true).json()
            let turnover = try #require(json["turnover"] as? [String: Any])
            #expect(turnover["sessions_closed"] as? Int == 3)
            #expect(turnover["sessions_open"] as? Int == 2)
            #expect(turnover["median_duration_seconds"] as? Int == 3300)
            let staff = try #require(json["staff"] as? [[String: Any]])
            let maria = try #require(staff.first { $0["employee_id"] as? Int == 96 })
            #expect(maria["tips"] as? Double == 53.69)
            #expect(maria["sessions_closed"] as? Int == 1)
            let hours = try #require(json["revenue_by_hour"] as? [[String: Any]])
            #expect(hours.first { $0["hour"] as? Int == 20 }?["revenue"] as? Double == 507.99)
            let quality = try #require(json["data_quality"] as? [String: Any])
            let warnings = try #require(quality["warnings"] as? [String: Int])
            #expect(warnings["missing_table_number"] == 1)
            #expect(warnings["naive_timestamp"] == 1)
            #expect(warnings["table_alias"] == 1)
            #expect(quality["events"] as? Int == 8)
            #expect(quality["events_with_warnings"] as? Int == 3)
            // The refused post happened today (the fixtures are from 2025): it counts on today's page.
            let today = try await server.request(.GET, "/api/v1/analytics?token_id=\(id)&env=prod", admin: true).json()
            #expect(((today["data_quality"] as? [String: Any])?["rejections"] as? [String: Int])?["400"] == 1)
            #expect((json["service_timing"] as? [String: Any])?["median_first_item_seconds"] as? Int == 300)
        }
    }

    @Test(arguments: Backend.allCases) func eventPagesHaveNoDuplicatesOrGaps(backend: Backend) async throws {
        try await TestServer.with(backend: backend) { server in
            let (id, token) = try await server.createToken()
            var posted: [String] = []
            for index in 0..<23 {
                let table = index % 2 == 0 ? "Mesa 1" : "Mesa 2"
                let body =
                    #"{"event":"items_added","order_id":"O\#(index)","table_number":"\#(table)","timestamp":"2025-11-24T19:00:00-03:00","items":[]}"#
                posted.append(try await server.post(token: token, body: Data(body.utf8)).json()["event_id"] as! String)
            }
            _ = try await server.post(token: token, body: try Fixture.data("naive_timestamp.json"))
            var seen: [String] = []
            var cursor: String?
            repeat {
                let path = "/api/v1/events?token_id=\(id)&env=dev&event=items_added&limit=5" + (cursor.map { "&cursor=\($0)" } ?? "")
                let page = try await server.request(.GET, path, admin: true).json()
                seen += (page["events"] as? [[String: Any]] ?? []).compactMap { $0["event_id"] as? String }
                cursor = page["next_cursor"] as? String
            } while cursor != nil
            #expect(seen == posted.reversed())
            let mesa1 = try await server.request(.GET, "/api/v1/events?token_id=\(id)&env=dev&table=Mesa%201", admin: true).json()
            #expect((mesa1["events"] as? [Any])?.count == 12)
            // Only the naive-timestamp post has warnings: the filter must pick exactly it, and its opposite the rest.
            let flagged = try await server.request(.GET, "/api/v1/events?token_id=\(id)&env=dev&has_warnings=true&limit=1000", admin: true)
                .json()
            #expect((flagged["events"] as? [[String: Any]])?.count == 1)
            #expect((flagged["events"] as? [[String: Any]])?.first?["event"] as? String == "session_opened")
            let clean = try await server.request(.GET, "/api/v1/events?token_id=\(id)&env=dev&has_warnings=false&limit=1000", admin: true)
                .json()
            #expect((clean["events"] as? [[String: Any]])?.count == 23)
            #expect(try await server.request(.GET, "/api/v1/events?token_id=\(id)&env=dev&cursor=bogus", admin: true).status == 400)
            let future = try await server.request(.GET, "/api/v1/events?token_id=\(id)&env=dev&since=2099-01-01T00:00:00Z", admin: true)
                .json()
            #expect((future["events"] as? [Any])?.isEmpty == true)
            let past = try await server.request(.GET, "/api/v1/events?token_id=\(id)&env=dev&until=2000-01-01T00:00:00Z", admin: true)
                .json()
            #expect((past["events"] as? [Any])?.isEmpty == true)
            let window = try await server.request(
                .GET, "/api/v1/events?token_id=\(id)&env=dev&since=2000-01-01T00:00:00Z&until=2099-01-01T00:00:00Z&limit=1000", admin: true
            ).json()
            #expect((window["events"] as? [Any])?.count == 24)
            #expect(try await server.request(.GET, "/api/v1/events?token_id=\(id)&env=dev&until=yesterday", admin: true).status == 400)
            #expect(try await server.request(.GET, "/api/v1/events?token_id=\(id)&env=dev&limit=0", admin: true).status == 400)
        }
    }

    @Test(arguments: Backend.allCases) func exportStreamsNDJSONAndCSV(backend: Backend) async throws {
        try await TestServer.with(
            backend: backend,
            configure: {
                $0.rateLimitPerSecond = 100_000
                $0.rateLimitBurst = 100_000
            }
        ) { server in
            let (id, token) = try await server.createToken()
            for index in 0..<1200 {
                _ = try await server.post(token: token, body: Data(#"{"event":"test","i":\#(index),"note":"a, \"b\""}"#.utf8))
            }
            _ = try await server.post(token: token, body: try Fixture.data("session_complete.json"))
            let ndjson = try await server.request(.GET, "/api/v1/export?token_id=\(id)&env=dev", admin: true)
            #expect(ndjson.headers["Content-Type"].first == "application/x-ndjson")
            let lines = ndjson.text.split(separator: "\n")
            #expect(lines.count == 1201)
            let last = try #require(try JSONSerialization.jsonObject(with: Data(lines.last!.utf8)) as? [String: Any])
            #expect(last["event"] as? String == "session_complete")
            #expect((last["payload"] as? [String: Any])?["order_id"] as? String == "ORD-2025-0124")
            let first = try #require(try JSONSerialization.jsonObject(with: Data(lines.first!.utf8)) as? [String: Any])
            #expect((first["payload"] as? [String: Any])?["i"] as? Int == 0)
            let csv = try await server.request(.GET, "/api/v1/export?token_id=\(id)&env=dev&format=csv", admin: true)
            let rows = csv.text.split(separator: "\n")
            #expect(
                rows.first
                    == "event_id,token_id,env,received_at,event,is_test,order_id,table_number,occurred_at,request_id,content_type,content_encoding,size_bytes,warnings,payload"
            )
            #expect(rows.count == 1202)
            #expect(rows[1].hasSuffix(#","{""event"":""test"",""i"":0,""note"":""a, \""b\""""}""#))
            // The row's fields are the header's, in its order (the payload, last, holds commas of its own).
            let header = rows[0].split(separator: ",").map(String.init)
            let fields = rows[1][..<rows[1].range(of: #","{"#)!.lowerBound].split(separator: ",", omittingEmptySubsequences: false)
            #expect(fields.count == header.count - 1)
            #expect(fields[header.firstIndex(of: "env")!] == "dev" && fields[header.firstIndex(of: "event")!] == "test")
            #expect(fields[header.firstIndex(of: "token_id")!] == Substring(id))
            #expect(Int(fields[header.firstIndex(of: "size_bytes")!]) ?? 0 > 20)
            #expect(try await server.request(.GET, "/api/v1/export?token_id=\(id)&format=xml", admin: true).status == 400)
            let none = try await server.request(.GET, "/api/v1/export?token_id=\(id)&env=dev&since=2099-01-01T00:00:00Z", admin: true)
            #expect(none.status == 200 && none.text.isEmpty)
        }
    }

    @Test(arguments: Backend.allCases) func streamDeliversNewEventsAndResumes(backend: Backend) async throws {
        try await TestServer.with(backend: backend) { server in
            let (id, token) = try await server.createToken()
            let before =
                try await server.post(token: token, body: Data(#"{"event":"test","n":"before"}"#.utf8)).json()["event_id"] as! String
            var request = HTTPClientRequest(url: "\(server.baseURL)/api/v1/stream?token_id=\(id)&env=dev")
            request.headers.add(name: "Authorization", value: "Bearer \(TestServer.adminKey)")
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            #expect(response.headers["Content-Type"].first == "text/event-stream")
            var iterator = response.body.makeAsyncIterator()
            // Prod first, then dev, then a dev sentinel: reading up to the sentinel would have met a leaked prod event.
            let prod =
                try await server.post(token: token, env: "prod", body: Data(#"{"event":"test","n":"prod"}"#.utf8)).json()["event_id"]
                as! String
            let posted =
                try await server.post(token: token, body: Data(#"{"event":"test","n":"after"}"#.utf8)).json()["event_id"] as! String
            let sentinel =
                try await server.post(token: token, body: Data(#"{"event":"test","n":"sentinel"}"#.utf8)).json()["event_id"] as! String
            var received = ""
            let deadline = ContinuousClock.now + .seconds(10)
            while !received.contains(sentinel), ContinuousClock.now < deadline, let chunk = try await iterator.next() {
                received += String(buffer: chunk)
            }
            #expect(received.contains(posted) && received.contains(sentinel))
            #expect(!received.contains(before), "the stream replayed an event from before it started")
            #expect(!received.contains(prod), "a prod event reached the dev stream")
            let eventID = try #require(received.components(separatedBy: "\n").first { $0.hasPrefix("id: ") }).dropFirst(4)

            // Resume from that id, by Last-Event-ID and by cursor=: only what came after it.
            let third = try await server.post(token: token, body: Data(#"{"event":"test","n":"third"}"#.utf8)).json()["event_id"] as! String
            for resumeBy in ["header", "query"] {
                var resume = HTTPClientRequest(
                    url: "\(server.baseURL)/api/v1/stream?token_id=\(id)&env=dev" + (resumeBy == "query" ? "&cursor=\(eventID)" : ""))
                resume.headers.add(name: "Authorization", value: "Bearer \(TestServer.adminKey)")
                if resumeBy == "header" { resume.headers.add(name: "Last-Event-ID", value: String(eventID)) }
                let resumed = try await HTTPClient.shared.execute(resume, timeout: .seconds(30))
                var resumedIterator = resumed.body.makeAsyncIterator()
                var text = ""
                let resumeDeadline = ContinuousClock.now + .seconds(10)
                while !text.contains(third), ContinuousClock.now < resumeDeadline, let chunk = try await resumedIterator.next() {
                    text += String(buffer: chunk)
                }
                #expect(text.contains(third), "resumed by \(resumeBy)")
                #expect(text.contains(sentinel), "resumed by \(resumeBy)")
                #expect(!text.contains(posted), "resumed by \(resumeBy)")
            }
        }
    }

    @Test(arguments: Backend.allCases) func everyReadShowsAnEventUnderTheSameNames(backend: Backend) async throws {
        try await TestServer.with(backend: backend) { server in
            let (id, token) = try await server.createToken()
            var request = HTTPClientRequest(url: "\(server.baseURL)/api/v1/stream?token_id=\(id)&env=dev")
            request.headers.add(name: "Authorization", value: "Bearer \(TestServer.adminKey)")
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            let second = try await server.post(token: token, body: try Fixture.data("table_alias.json")).json()["event_id"] as! String
            func keys(_ object: Any?) -> Set<String> { Set((object as? [String: Any] ?? [:]).keys) }
            func json(_ text: some StringProtocol) throws -> Any { try JSONSerialization.jsonObject(with: Data(text.utf8)) }

            let listed = try await server.request(.GET, "/api/v1/events?token_id=\(id)&env=dev", admin: true).json()
            let inList = try #require((listed["events"] as? [[String: Any]])?.first { $0["event_id"] as? String == second })
            let single = try await server.request(.GET, "/api/v1/events/\(second)", admin: true).json()
            let ndjson = try await server.request(.GET, "/api/v1/export?token_id=\(id)&env=dev", admin: true).text
            let exported = try json(try #require(ndjson.split(separator: "\n").last))
            let csv = try await server.request(.GET, "/api/v1/export?token_id=\(id)&env=dev&format=csv", admin: true).text
            let columns = Set(try #require(csv.split(separator: "\n").first).split(separator: ",").map(String.init))

            var iterator = response.body.makeAsyncIterator()
            var received = ""
            let deadline = ContinuousClock.now + .seconds(10)
            while !received.contains("\"warnings\""), ContinuousClock.now < deadline, let chunk = try await iterator.next() {
                received += String(buffer: chunk)
            }
            let data = try #require(received.split(separator: "\n").first { $0.hasPrefix("data: ") }?.dropFirst(6))
            let streamed = try json(data)

            let names = keys(inList)
            #expect(names.contains("event_id") && !names.contains("id"), "the ingest answer's name for the id")
            #expect(names.isSuperset(of: ["token_id", "env", "received_at", "event", "order_id", "table_number", "warnings"]))
            #expect(keys(single) == names)
            #expect(keys(exported) == names.union(["payload"]))
            #expect(columns == names.union(["payload"]))
            #expect(keys(streamed) == names, "the stream carries the metadata; /raw and export the payload")
            #expect((streamed as? [String: Any])?["event_id"] as? String == second)
            #expect((exported as? [String: Any])?["table_number"] as? String == single["table_number"] as? String)
        }
    }

    @Test(arguments: Backend.allCases) func employeeIDsComeBackWithTheJSONTypeTheyWereSentWith(backend: Backend) async throws {
        try await TestServer.with(backend: backend) { server in
            let (id, token) = try await server.createToken()
            let body =
                #"{"event":"session_complete","order_id":4711,"table_number":"Mesa 3","timestamp":"2025-11-24T20:15:00-03:00","#
                + #""session_start":"2025-11-24T19:00:00-03:00","session_end":"2025-11-24T20:15:00-03:00","#
                + #""opened_by":{"id":72,"name":"Joao"},"closed_by":{"id":"A-17","name":"Ana"},"#
                + #""items":[{"timestamp":"2025-11-24T19:05:00-03:00","employee_id":72,"name":"Pastel","quantity":1,"price":10.00},"#
                + #"{"timestamp":"2025-11-24T19:06:00-03:00","employee_id":"A-17","name":"Suco","quantity":1,"price":8.00}],"#
                + #""totals":{"subtotal":18.00,"tip":2.00,"tax":0.00,"total":20.00}}"#
            #expect(try await server.post(token: token, env: "prod", body: Data(body.utf8)).status == 200)
            var session: [String: Any] = [:]
            try await waitUntil {
                let answer = try await server.request(.GET, "/api/v1/sessions/4711?token_id=\(id)&env=prod", admin: true)
                if answer.status == 200 { session = try answer.json() }
                return answer.status == 200
            }
            #expect(session["order_id"] as? Int == 4711)
            #expect((session["opened_by"] as? [String: Any])?["id"] as? Int == 72)
            #expect((session["closed_by"] as? [String: Any])?["id"] as? String == "A-17")
            let items = session["items"] as? [[String: Any]] ?? []
            #expect(items.first { $0["name"] as? String == "Pastel" }?["employee_id"] as? Int == 72)
            #expect(items.first { $0["name"] as? String == "Suco" }?["employee_id"] as? String == "A-17")
            let analytics = try await server.request(.GET, "/api/v1/analytics?token_id=\(id)&env=prod&date=2025-11-24", admin: true).json()
            let staff = analytics["staff"] as? [[String: Any]] ?? []
            #expect(staff.contains { $0["employee_id"] as? Int == 72 })
            #expect(staff.contains { $0["employee_id"] as? String == "A-17" })
            let events = try await server.request(.GET, "/api/v1/events?token_id=\(id)&env=prod", admin: true).json()
            #expect((events["events"] as? [[String: Any]])?.first?["order_id"] as? Int == 4711)
            let export = try await server.request(.GET, "/api/v1/export?token_id=\(id)&env=prod", admin: true).text
            #expect(export.contains(#""order_id":4711,"#))
            // A string order id stays a string.
            _ = try await server.post(
                token: token, env: "prod",
                body: Data(
                    #"{"event":"session_opened","order_id":"4712","table_number":"Mesa 4","timestamp":"2025-11-24T21:00:00-03:00"}"#.utf8))
            let newest = try await server.request(.GET, "/api/v1/events?token_id=\(id)&env=prod&limit=1", admin: true).json()
            #expect((newest["events"] as? [[String: Any]])?.first?["order_id"] as? String == "4712")
        }
    }
}
