import Crypto
import Foundation
import HTTPServer
import Xero
import StrictJSON

extension Simulator {
    // MARK: - limits

    enum LimitCheck {
        case allowed([(String, String)])
        case breach(String, Int?)
    }

    func checkLimits(_ w: World, _ org: Organisation, now: Int64) -> LimitCheck {
        let l = w.limits
        rollWindows(w, org, now: now)
        if org.rate.dayCount >= l.perDay {
            return .breach("day", Int((org.rate.dayStart + 86_400_000 - now + 999) / 1000))
        }
        if org.rate.minuteCount >= l.perMinute {
            return .breach("minute", max(1, Int((org.rate.minuteStart + 60_000 - now + 999) / 1000)))
        }
        if w.appMinuteCount >= l.appPerMinute {
            return .breach("appminute", nil)
        }
        if org.rate.inFlight >= l.concurrent {
            return .breach("concurrent", nil)
        }
        if org.rate.minuteCount == 0 { org.rate.minuteStart = now }
        if org.rate.dayCount == 0 { org.rate.dayStart = now }
        if w.appMinuteCount == 0 { w.appMinuteStart = now }
        org.rate.minuteCount += 1
        org.rate.dayCount += 1
        w.appMinuteCount += 1
        return .allowed(rateHeaders(w, org, now: now))
    }

    func rollWindows(_ w: World, _ org: Organisation, now: Int64) {
        if org.rate.minuteCount > 0 && now >= org.rate.minuteStart + 60_000 { org.rate.minuteCount = 0 }
        if org.rate.dayCount > 0 && now >= org.rate.dayStart + 86_400_000 { org.rate.dayCount = 0 }
        if w.appMinuteCount > 0 && now >= w.appMinuteStart + 60_000 { w.appMinuteCount = 0 }
    }

    func rateHeaders(_ w: World, _ org: Organisation, now: Int64) -> [(String, String)] {
        rollWindows(w, org, now: now)
        let l = w.limits
        return [("X-DayLimit-Remaining", String(max(0, l.perDay - org.rate.dayCount))),
                ("X-MinLimit-Remaining", String(max(0, l.perMinute - org.rate.minuteCount))),
                ("X-AppMinLimit-Remaining", String(max(0, l.appPerMinute - w.appMinuteCount)))]
    }
}
