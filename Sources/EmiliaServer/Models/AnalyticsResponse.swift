import EmiliaModel
import EmiliaStore
import Foundation
import Hummingbird

/// `GET /api/v1/analytics`: the day's figures in the shape docs/contract.md §2 names.
struct AnalyticsResponse: ResponseEncodable {
    struct PerTable: Encodable {
        let tableNumber: String
        let sessions: Int
        let occupiedSeconds: Int
        enum CodingKeys: String, CodingKey {
            case sessions
            case tableNumber = "table_number"
            case occupiedSeconds = "occupied_seconds"
        }
    }

    struct Turnover: Encodable {
        let sessionsClosed: Int
        let sessionsOpen: Int
        let medianDurationSeconds: Int?
        let meanDurationSeconds: Int?
        let perTable: [PerTable]
        enum CodingKeys: String, CodingKey {
            case sessionsClosed = "sessions_closed"
            case sessionsOpen = "sessions_open"
            case medianDurationSeconds = "median_duration_seconds"
            case meanDurationSeconds = "mean_duration_seconds"
            case perTable = "per_table"
        }
    }

    struct Staff: Encodable {
        let employeeID: PosID
        let name: String?
        let sessionsOpened: Int
        let sessionsClosed: Int
        let itemLines: Int
        let itemsQuantity: Money
        let sales: Money
        let tips: Money
        enum CodingKeys: String, CodingKey {
            case name, sales, tips
            case employeeID = "employee_id"
            case sessionsOpened = "sessions_opened"
            case sessionsClosed = "sessions_closed"
            case itemLines = "item_lines"
            case itemsQuantity = "items_quantity"
        }
    }

    struct Hour: Encodable {
        let hour: Int
        let revenue: Money
        let sessions: Int
    }

    struct Revenue: Encodable {
        let total: Money
        let averageTicket: Money?
        enum CodingKeys: String, CodingKey {
            case total
            case averageTicket = "average_ticket"
        }
    }

    struct Timing: Encodable {
        let medianFirstItemSeconds: Int?
        let medianRoundGapSeconds: Int?
        enum CodingKeys: String, CodingKey {
            case medianFirstItemSeconds = "median_first_item_seconds"
            case medianRoundGapSeconds = "median_round_gap_seconds"
        }
    }

    struct Quality: Encodable {
        let events: Int
        let eventsWithWarnings: Int
        let warnings: [String: Int]
        let rejections: [String: Int]
        let examples: [String: String]
        let warningsSampled: Bool
        let unfoldedEvents: Int
        let unfoldedReason: String?
        enum CodingKeys: String, CodingKey {
            case events, warnings, rejections, examples
            case eventsWithWarnings = "events_with_warnings"
            case warningsSampled = "warnings_sampled"
            case unfoldedEvents = "unfolded_events"
            case unfoldedReason = "unfolded_reason"
        }
    }

    let tokenID: String
    let env: String
    let date: String
    let timezone: String
    let turnover: Turnover
    let staff: [Staff]
    let revenueByHour: [Hour]
    let revenue: Revenue
    let serviceTiming: Timing
    let dataQuality: Quality

    enum CodingKeys: String, CodingKey {
        case env, date, timezone, turnover, staff, revenue
        case tokenID = "token_id"
        case revenueByHour = "revenue_by_hour"
        case serviceTiming = "service_timing"
        case dataQuality = "data_quality"
    }

    init(tokenID: String, env: DeploymentEnvironment, date: String, timezone: String, analytics: DayAnalytics, quality: DataQuality) {
        self.tokenID = tokenID
        self.env = env.rawValue
        self.date = date
        self.timezone = timezone
        let turnover = analytics.turnover
        self.turnover = Turnover(
            sessionsClosed: turnover.sessionsClosed, sessionsOpen: turnover.sessionsOpen,
            medianDurationSeconds: turnover.medianDurationSeconds, meanDurationSeconds: turnover.meanDurationSeconds,
            perTable: turnover.perTable.map {
                PerTable(tableNumber: $0.tableNumber, sessions: $0.sessions, occupiedSeconds: $0.occupiedSeconds)
            })
        staff = analytics.staff.map {
            Staff(
                employeeID: $0.employeeID, name: $0.name, sessionsOpened: $0.sessionsOpened, sessionsClosed: $0.sessionsClosed,
                itemLines: $0.itemLines, itemsQuantity: $0.itemsQuantity, sales: $0.sales, tips: $0.tips)
        }
        revenueByHour = analytics.revenueByHour.map { Hour(hour: $0.hour, revenue: $0.revenue, sessions: $0.sessions) }
        revenue = Revenue(total: analytics.revenueTotal, averageTicket: analytics.averageTicket)
        serviceTiming = Timing(
            medianFirstItemSeconds: analytics.serviceTiming.medianFirstItemSeconds,
            medianRoundGapSeconds: analytics.serviceTiming.medianRoundGapSeconds)
        dataQuality = Quality(
            events: quality.events, eventsWithWarnings: quality.eventsWithWarnings, warnings: quality.warnings,
            rejections: Dictionary(uniqueKeysWithValues: quality.rejections.map { (String($0.key), $0.value) }),
            examples: quality.examples, warningsSampled: quality.warningsSampled,
            unfoldedEvents: quality.unfoldedEvents, unfoldedReason: quality.unfoldedReason)
    }
}
