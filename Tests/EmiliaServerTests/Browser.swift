import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// Headless Chromium driven over the WebDriver protocol (Debian's `chromium` and `chromium-driver`).
final class Browser: Sendable {
    private let driver: ChildProcess
    private let endpoint: String
    private let session: String

    struct Failure: Error, CustomStringConvertible { let description: String }

    /// Starts chromedriver on a free port and a headless browser session that looks up nothing outside 127.0.0.1.
    /// A driver that does not come up (on a machine loaded by every other suite) is killed and started again.
    static func launch() async throws -> Browser {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver") else {
            throw Failure(description: "chromedriver is missing: apt-get install -y chromium chromium-driver (scripts/test.sh does this)")
        }
        var lastError: any Error = Failure(description: "chromedriver never started")
        for _ in 1...3 {
            do {
                return try await launchOnce()
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    private static func launchOnce() async throws -> Browser {
        let driver = try ChildProcess(executable: URL(fileURLWithPath: "/usr/bin/chromedriver"), arguments: ["--port=0"])
        var port: String?
        do {
            try await waitUntil(timeout: .seconds(30)) {
                // The port's digits end at the sentence's full stop: a read cut inside the number is not all of it.
                if let range = driver.standardOutput.range(of: #"successfully on port \d+(?=\D)"#, options: .regularExpression) {
                    port = String(driver.standardOutput[range].split(separator: " ").last!)
                }
                return port != nil || !driver.process.isRunning
            }
        } catch {
            driver.kill()
            throw Failure(description: "chromedriver did not start: \(error); output: \(driver.standardOutput) \(driver.standardError)")
        }
        guard let port else {
            driver.kill()
            throw Failure(description: "chromedriver exited: \(driver.standardOutput) \(driver.standardError)")
        }
        let endpoint = "http://127.0.0.1:\(port)"
        let capabilities: [String: Any] = [
            "capabilities": [
                "alwaysMatch": [
                    "browserName": "chrome",
                    // Console messages, failed loads among them, kept for `consoleErrors()`.
                    "goog:loggingPrefs": ["browser": "ALL"],
                    "goog:chromeOptions": [
                        "binary": "/usr/bin/chromium",
                        "args": [
                            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000",
                            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                        ],
                    ],
                ]
            ]
        ]
        let answer: [String: Any]
        do {
            answer = try await call("POST", endpoint + "/session", capabilities)
        } catch {
            driver.kill()
            throw error
        }
        guard let session = (answer["value"] as? [String: Any])?["sessionId"] as? String else {
            driver.kill()
            throw Failure(description: "no browser session: \(answer)")
        }
        return Browser(driver: driver, endpoint: endpoint, session: session)
    }

    private init(driver: ChildProcess, endpoint: String, session: String) {
        self.driver = driver
        self.endpoint = endpoint
        self.session = session
    }

    /// Ends the browser and the driver.
    func quit() async {
        _ = try? await Self.call("DELETE", "\(endpoint)/session/\(session)", nil)
        driver.kill()
    }

    func go(_ url: String) async throws { _ = try await command("POST", "url", ["url": url]) }

    var currentURL: String { get async throws { try await command("GET", "url", nil) as? String ?? "" } }

    /// Element ids matching a CSS selector.
    func findAll(_ css: String) async throws -> [String] {
        let found = try await command("POST", "elements", ["using": "css selector", "value": css]) as? [[String: String]] ?? []
        return found.compactMap { $0.values.first }
    }

    /// The first element matching a CSS selector (fails when there is none).
    func find(_ css: String) async throws -> String {
        guard let first = try await findAll(css).first else { throw Failure(description: "no element matches \(css)") }
        return first
    }

    func click(_ element: String) async throws { _ = try await command("POST", "element/\(element)/click", [:]) }

    func type(_ element: String, _ text: String) async throws {
        _ = try await command("POST", "element/\(element)/value", ["text": text])
    }

    func text(_ element: String) async throws -> String { try await command("GET", "element/\(element)/text", nil) as? String ?? "" }

    /// Runs JavaScript in the page and returns its result.
    func execute(_ script: String) async throws -> Any? {
        try await command("POST", "execute/sync", ["script": script, "args": []])
    }

    /// Console messages at level SEVERE since the last call: script errors, and loads that failed (chromedriver's log).
    func consoleErrors() async throws -> [String] {
        let entries = try await command("POST", "se/log", ["type": "browser"]) as? [[String: Any]] ?? []
        return entries.filter { $0["level"] as? String == "SEVERE" }.map { $0["message"] as? String ?? "\($0)" }
    }

    /// The page's own requests (the document, styles, scripts, fetches) that failed or answered 4xx/5xx, from
    /// Resource Timing's `responseStatus`.
    func failedRequests() async throws -> [String] {
        try await execute(
            """
            return performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))
                .filter(e => e.responseStatus === 0 || e.responseStatus >= 400).map(e => e.name + ' ' + e.responseStatus)
            """) as? [String] ?? []
    }

    /// Saves a PNG of the window.
    func screenshot(to path: String) async throws {
        guard let base64 = try await command("GET", "screenshot", nil) as? String, let data = Data(base64Encoded: base64) else { return }
        try data.write(to: URL(fileURLWithPath: path))
    }

    private func command(_ method: String, _ path: String, _ body: [String: Any]?) async throws -> Any? {
        let answer = try await Self.call(method, "\(endpoint)/session/\(session)/\(path)", body)
        if let value = answer["value"] as? [String: Any], let error = value["error"] as? String {
            throw Failure(description: "\(path): \(error): \(value["message"] ?? "")")
        }
        return answer["value"]
    }

    private static func call(_ method: String, _ url: String, _ body: [String: Any]?) async throws -> [String: Any] {
        var request = HTTPClientRequest(url: url)
        request.method = .init(rawValue: method)
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let bytes = try await response.body.collect(upTo: 50 * 1024 * 1024)
        return (try JSONSerialization.jsonObject(with: Data(buffer: bytes)) as? [String: Any]) ?? [:]
    }
}
