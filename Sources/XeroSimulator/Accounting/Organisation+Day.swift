import Foundation
import Xero

/// The organisation's own day: Xero dates a document sent without a `Date` by the day it is in
/// the organisation's time zone, not in UTC (FACTS §6: "defaults to today in org timezone").
extension Organisation {
    /// Xero's time zone names the simulator knows, with their IANA zones.
    static let timezones: [String: String] = [
        "NEWZEALANDSTANDARDTIME": "Pacific/Auckland",
        "AUSEASTERNSTANDARDTIME": "Australia/Sydney",
        "WAUSTRALIASTANDARDTIME": "Australia/Perth",
        "GMTSTANDARDTIME": "Europe/London",
        "EASTERNSTANDARDTIME": "America/New_York",
        "PACIFICSTANDARDTIME": "America/Los_Angeles",
        "UTC": "UTC",
    ]

    /// The day `ms` falls on in the organisation's time zone, as Xero holds dates: UTC midnight of that day.
    func day(at ms: Int64) -> Int64 {
        let zone = Organisation.timezones[timezone].flatMap(TimeZone.init(identifier:)) ?? TimeZone(identifier: "UTC")!
        let offset = Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(ms) / 1000))) * 1000
        return XeroModelDate.startOfDay(ms + offset)
    }
}

extension Organisation {
    /// A day as Xero's messages write it: `31-Jul-2026`.
    static func dayText(_ ms: Int64) -> String {
        let iso = XeroModelDate.day(ms)  // 2026-07-31
        let parts = iso.split(separator: "-")
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard parts.count == 3, let m = Int(parts[1]), (1...12).contains(m) else { return iso }
        return "\(parts[2])-\(months[m - 1])-\(parts[0])"
    }
}
