import Foundation

/// A one-line progress bar on a terminal; plain percentage lines (every 10 %) when output is piped.
struct ProgressBar: Sendable {
    let label: String
    let isTerminal = isatty(STDOUT_FILENO) == 1

    func render(done: Int, total: Int) -> String? {
        let fraction = total == 0 ? 1 : Double(done) / Double(total)
        let percent = Int(fraction * 100)
        if isTerminal {
            let width = 30
            let filled = Int(fraction * Double(width))
            return
                "\r\(label) [\(String(repeating: "#", count: filled))\(String(repeating: " ", count: width - filled))] \(percent)% (\(done)/\(total))"
                + (done >= total ? "\n" : "")
        }
        let previous = total == 0 ? -1 : Int(Double(max(0, done - 1)) / Double(total) * 10)
        guard done >= total || Int(fraction * 10) != previous || done == 0 else { return nil }
        return "\(label): \(percent)% (\(done)/\(total))\n"
    }

    func update(done: Int, total: Int) {
        if let text = render(done: done, total: total) { Console.raw(text) }
    }
}
