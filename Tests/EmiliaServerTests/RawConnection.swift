import Foundation

/// A plain TCP connection to a test server, for what an HTTP client library hides: sending a request head without
/// its body, reading answers as they arrive (`100 Continue` before the final one), seeing the server close.
final class RawConnection {
    private let socket: Int32
    private var received = Data()

    init(port: Int) throws {
        socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw TestFailure("no socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard connected else {
            close(socket)
            throw TestFailure("could not connect to port \(port)")
        }
    }

    deinit { close(socket) }

    func send(_ text: String) throws { try send(Data(text.utf8)) }

    func send(_ data: Data) throws {
        let sent = data.withUnsafeBytes { Foundation.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == data.count else { throw TestFailure("sent \(sent) of \(data.count) bytes") }
    }

    /// Sends `data` without blocking past `timeout`: false when the server stopped taking it (a full socket).
    func send(_ data: Data, within timeout: Duration) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        var offset = 0
        while offset < data.count {
            var poller = pollfd(fd: socket, events: Int16(POLLOUT), revents: 0)
            if poll(&poller, 1, 0) == 0 {
                guard ContinuousClock.now < deadline else { return false }
                try await Task.sleep(for: .milliseconds(5))
                continue
            }
            let sent = data[offset...].withUnsafeBytes {
                Foundation.send(socket, $0.baseAddress, min($0.count, 64 * 1024), Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
            }
            guard sent > 0 || errno == EAGAIN else { throw TestFailure("send failed (errno \(errno)) after \(offset) bytes") }
            offset += max(sent, 0)
        }
        return true
    }

    /// Reads until `text` has arrived (answering everything received so far) or `timeout` passes (throws).
    func read(until text: String, timeout: Duration = .seconds(10)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while !String(decoding: received, as: UTF8.self).contains(text) {
            guard try await receive(until: deadline) else {
                throw TestFailure("connection closed before '\(text)' arrived; got: \(String(decoding: received, as: UTF8.self))")
            }
        }
        return String(decoding: received, as: UTF8.self)
    }

    /// Reads until the server closes the connection (true), or `timeout` passes (false).
    func waitForClose(timeout: Duration = .seconds(10)) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        do {
            while try await receive(until: deadline) {}
            return true
        } catch is TimedOut {
            return false
        }
    }

    private struct TimedOut: Error {}

    /// One `recv` within the deadline: false when the peer closed. The socket is polled without blocking, so the
    /// wait never holds one of the few threads the server's own tasks run on.
    private func receive(until deadline: ContinuousClock.Instant) async throws -> Bool {
        var poller = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        while poll(&poller, 1, 0) == 0 {
            guard ContinuousClock.now < deadline else { throw TimedOut() }
            try await Task.sleep(for: .milliseconds(5))
        }
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        let count = recv(socket, &buffer, buffer.count, 0)
        if count <= 0 { return false }
        received.append(contentsOf: buffer[0..<count])
        return true
    }
}
