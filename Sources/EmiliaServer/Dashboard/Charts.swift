import EmiliaModel
import Foundation

/// Charts drawn in Swift as inline SVG: no script, no library, readable without a network.
enum Charts {
    /// The day's table timeline: a row per table, a bar per session from open to close (open sessions hatched,
    /// running to `now` or the day's end), each with `data-session` and a tooltip.
    static func timeline(_ sessions: [TableSession], day: (start: Date, end: Date), now: Date, zone: TimeZone) -> String {
        let tables = Array(Set(sessions.map { $0.tableNumber ?? "(no table)" })).sorted { DayAnalytics.tableOrder($0, $1) }
        let rowHeight = 22.0
        let labelWidth = 90.0
        let width = 960.0
        let height = Double(max(1, tables.count)) * rowHeight + 28
        // Only the day and the night after it are drawn: a date years away costs no more than one tonight.
        let window = (start: day.start, end: day.end.addingTimeInterval(12 * 3600))
        func clamp(_ date: Date) -> Date { min(max(date, window.start), window.end) }
        let times = (sessions.compactMap(\.openedAt) + sessions.compactMap(\.closedAt)).map(clamp)
        var start = times.min() ?? day.start.addingTimeInterval(10 * 3600)
        var end = max(times.max() ?? day.end, sessions.contains { $0.status == .open } ? min(now, day.end) : start)
        start = start.addingTimeInterval(-start.timeIntervalSince1970.truncatingRemainder(dividingBy: 3600))
        end = end.addingTimeInterval(3600 - end.timeIntervalSince1970.truncatingRemainder(dividingBy: 3600))
        let span = max(3600, end.timeIntervalSince(start))
        func x(_ date: Date) -> Double { labelWidth + (width - labelWidth - 10) * date.timeIntervalSince(start) / span }
        var svg =
            "<svg data-chart=\"timeline\" class=\"chart\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"Table timeline\">"
        svg +=
            "<defs><pattern id=\"hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><rect width=\"3\" height=\"6\" class=\"hatch\"/></pattern></defs>"
        var hour = start
        while hour <= end {
            let label = Timestamp.format(hour, offsetSeconds: zone.secondsFromGMT(for: hour)).dropFirst(11).prefix(5)
            svg += "<line class=\"grid\" x1=\"\(f(x(hour)))\" x2=\"\(f(x(hour)))\" y1=\"0\" y2=\"\(f(height - 18))\"/>"
            svg += "<text class=\"axis\" x=\"\(f(x(hour)))\" y=\"\(f(height - 4))\" text-anchor=\"middle\">\(label)</text>"
            hour = hour.addingTimeInterval(span > 8 * 3600 ? 7200 : 3600)
        }
        for (row, table) in tables.enumerated() {
            let y = Double(row) * rowHeight
            svg += "<text class=\"label\" x=\"4\" y=\"\(f(y + 15))\">\(HTML.escape(table))</text>"
            for session in sessions where (session.tableNumber ?? "(no table)") == table {
                guard let opened = session.openedAt.map(clamp) else { continue }
                let isOpen = session.status == .open
                let closed = clamp(session.closedAt ?? min(now, day.end))
                let barWidth = max(3, x(closed) - x(opened))
                let tip =
                    "\(session.orderID) · \(session.tableNumber ?? "no table") · \(isOpen ? "open" : HTML.duration(session.durationSeconds)) · total \(session.revenue)"
                svg +=
                    "<rect data-session=\"\(HTML.escape(session.orderID.text))\" class=\"session \(isOpen ? "open" : "closed")\" x=\"\(f(x(opened)))\" y=\"\(f(y + 3))\" width=\"\(f(barWidth))\" height=\"\(f(rowHeight - 6))\" rx=\"3\"><title>\(HTML.escape(tip))</title></rect>"
            }
        }
        if tables.isEmpty {
            svg += "<text class=\"empty\" x=\"\(f(width / 2))\" y=\"20\" text-anchor=\"middle\">No table sessions this day</text>"
        }
        return svg + "</svg>"
    }

    /// Vertical bars with labels under them.
    static func bars(name: String, title: String, _ values: [(label: String, value: Double, text: String)]) -> String {
        let width = 460.0
        let height = 200.0
        let bottom = 24.0
        let top = 14.0
        let maximum = max(values.map(\.value).max() ?? 0, 1)
        let slot = (width - 20) / Double(max(values.count, 1))
        var svg =
            "<svg data-chart=\"\(name)\" class=\"chart\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(HTML.escape(title))\">"
        for (index, item) in values.enumerated() {
            let barHeight = (height - bottom - top) * item.value / maximum
            let x = 10 + Double(index) * slot
            svg +=
                "<rect class=\"bar\" x=\"\(f(x + slot * 0.15))\" y=\"\(f(height - bottom - barHeight))\" width=\"\(f(slot * 0.7))\" height=\"\(f(barHeight))\"><title>\(HTML.escape(item.label)): \(HTML.escape(item.text))</title></rect>"
            svg +=
                "<text class=\"axis\" x=\"\(f(x + slot / 2))\" y=\"\(f(height - 8))\" text-anchor=\"middle\">\(HTML.escape(item.label))</text>"
        }
        if values.isEmpty {
            svg += "<text class=\"empty\" x=\"\(f(width / 2))\" y=\"\(f(height / 2))\" text-anchor=\"middle\">No data</text>"
        }
        return svg + "</svg>"
    }

    /// Horizontal bars, one row per label.
    static func horizontalBars(name: String, title: String, _ values: [(label: String, value: Double, text: String)]) -> String {
        let width = 460.0
        let rowHeight = 24.0
        let labelWidth = 130.0
        let height = max(40, Double(values.count) * rowHeight + 8)
        let maximum = max(values.map(\.value).max() ?? 0, 1)
        var svg =
            "<svg data-chart=\"\(name)\" class=\"chart\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(HTML.escape(title))\">"
        for (index, item) in values.enumerated() {
            let y = 4 + Double(index) * rowHeight
            let barWidth = (width - labelWidth - 70) * item.value / maximum
            svg += "<text class=\"label\" x=\"4\" y=\"\(f(y + 15))\">\(HTML.escape(String(item.label.prefix(18))))</text>"
            svg +=
                "<rect class=\"bar\" x=\"\(f(labelWidth))\" y=\"\(f(y + 3))\" width=\"\(f(barWidth))\" height=\"\(f(rowHeight - 8))\"><title>\(HTML.escape(item.label)): \(HTML.escape(item.text))</title></rect>"
            svg += "<text class=\"value\" x=\"\(f(labelWidth + barWidth + 6))\" y=\"\(f(y + 15))\">\(HTML.escape(item.text))</text>"
        }
        if values.isEmpty { svg += "<text class=\"empty\" x=\"\(f(width / 2))\" y=\"24\" text-anchor=\"middle\">No data</text>" }
        return svg + "</svg>"
    }

    private static func f(_ value: Double) -> String {
        let rounded = (value * 10).rounded() / 10
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }
}
