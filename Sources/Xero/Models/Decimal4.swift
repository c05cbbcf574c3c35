import StrictJSON
/// An exact decimal with four places (Xero's `unitdp=4`), held as ten-thousandths.
///
/// Money, quantities and unit prices travel as JSON numbers; parsing the number's text (never a
/// `Double`) keeps them exact. Values with more places are rounded half away from zero.
public struct Decimal4: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The value × 10 000.
    public var units: Int64

    public static let scale: Int64 = 10_000
    public static let zero = Decimal4(units: 0)

    public init(units: Int64) { self.units = units }
    public init(_ value: Int) { units = Int64(value) * Decimal4.scale }

    /// Parses `12`, `-3.5`, `349.00`, `1e-3`, `1.23456` (→ 1.2346). Nil for anything else or a
    /// magnitude beyond ±922 337 203 685 477.
    public init?(_ text: String) {
        guard let v = Decimal4.parse(Array(text.utf8)) else { return nil }
        self = v
    }

    /// The exact value of a JSON number (or of a string holding one).
    public init?(json: JSON) {
        switch json {
        case .number(_, let raw): self.init(raw)
        case .string(let s): self.init(s)
        default: return nil
        }
    }

    public static func < (a: Decimal4, b: Decimal4) -> Bool { a.units < b.units }

    // Arithmetic saturates at ±922 337 203 685 477.5807 instead of trapping: values come from
    // requests, and no request may crash the process.
    public static func + (a: Decimal4, b: Decimal4) -> Decimal4 {
        let (r, overflow) = a.units.addingReportingOverflow(b.units)
        return Decimal4(units: overflow ? (b.units > 0 ? .max : .min) : r)
    }
    public static func - (a: Decimal4, b: Decimal4) -> Decimal4 {
        let (r, overflow) = a.units.subtractingReportingOverflow(b.units)
        return Decimal4(units: overflow ? (b.units < 0 ? .max : .min) : r)
    }
    public static func += (a: inout Decimal4, b: Decimal4) { a = a + b }
    public static prefix func - (a: Decimal4) -> Decimal4 { Decimal4(units: a.units == .min ? .max : -a.units) }

    /// The product, rounded half away from zero to four places.
    public func multiplied(by other: Decimal4) -> Decimal4 {
        Decimal4(units: Decimal4.clamp(Decimal4.divideRounded(Int128(units) * Int128(other.units), Int128(Decimal4.scale))))
    }

    /// `self × rate / (1 + rate)`: the tax inside a tax-inclusive amount, four places.
    public func taxIncluded(rate: Decimal4) -> Decimal4 {
        Decimal4(units: Decimal4.clamp(Decimal4.divideRounded(Int128(units) * Int128(rate.units),
                                                                Int128(Decimal4.scale + rate.units))))
    }

    /// `self / divisor`, rounded half away from zero to four places.
    public func divided(by divisor: Int) -> Decimal4 {
        precondition(divisor != 0, "division by zero")
        return Decimal4(units: Decimal4.clamp(Decimal4.divideRounded(Int128(units), Int128(divisor))))
    }

    /// Rounded half away from zero to `places` (0…4) decimal places.
    public func rounded(places: Int) -> Decimal4 {
        let p = max(0, min(4, places))
        var step: Int64 = 1
        for _ in 0..<(4 - p) { step *= 10 }
        return Decimal4(units: Decimal4.clamp(Decimal4.divideRounded(Int128(units), Int128(step)) * Int128(step)))
    }

    /// Fixed-point text with exactly `places` decimals (0…8); rounds when `places` < 4.
    public func formatted(places: Int) -> String {
        let p = max(0, min(8, places))
        let v = p < 4 ? rounded(places: p) : self
        let negative = v.units < 0
        let magnitude = v.units.magnitude
        let whole = magnitude / UInt64(Decimal4.scale)
        var frac = String(magnitude % UInt64(Decimal4.scale))
        frac = String(repeating: "0", count: 4 - frac.count) + frac
        if p < 4 { frac = String(frac.prefix(p)) } else if p > 4 { frac += String(repeating: "0", count: p - 4) }
        return (negative && magnitude > 0 ? "-" : "") + String(whole) + (p > 0 ? "." + frac : "")
    }

    /// A JSON number with exactly `places` decimals, e.g. `349.00`.
    public func json(places: Int) -> JSON { .number(doubleValue, raw: formatted(places: places)) }

    public var doubleValue: Double { Double(units) / Double(Decimal4.scale) }

    /// Shortest exact text: `349`, `3.5`, `0.0125`.
    public var description: String {
        var s = formatted(places: 4)
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s
    }

    // MARK: - arithmetic helpers

    static func divideRounded(_ n: Int128, _ d: Int128) -> Int128 {
        let q = n / d, r = n % d
        if r == 0 { return q }
        let twice = (r < 0 ? -r : r) * 2
        if twice >= (d < 0 ? -d : d) { return (n < 0) != (d < 0) ? q - 1 : q + 1 }
        return q
    }

    static func clamp(_ v: Int128) -> Int64 {
        if v > Int128(Int64.max) { return Int64.max }
        if v < Int128(Int64.min) { return Int64.min }
        return Int64(v)
    }

    static func parse(_ c: [UInt8]) -> Decimal4? {
        var i = 0
        var negative = false
        if i < c.count, c[i] == UInt8(ascii: "-") || c[i] == UInt8(ascii: "+") { negative = c[i] == UInt8(ascii: "-"); i += 1 }
        var mantissa: Int128 = 0
        var digits = 0, fractionDigits = 0, significant = 0
        var sawPoint = false
        while i < c.count {
            let b = c[i]
            if b >= 0x30 && b <= 0x39 {
                digits += 1
                if significant > 0 || b != 0x30 { significant += 1 }
                guard significant <= 30 else { return nil }
                mantissa = mantissa * 10 + Int128(b - 0x30)
                if sawPoint { fractionDigits += 1 }
            } else if b == UInt8(ascii: "."), !sawPoint {
                sawPoint = true
            } else {
                break
            }
            i += 1
        }
        guard digits > 0 else { return nil }
        var exponent = 0
        if i < c.count, c[i] == UInt8(ascii: "e") || c[i] == UInt8(ascii: "E") {
            i += 1
            var expNegative = false
            if i < c.count, c[i] == UInt8(ascii: "-") || c[i] == UInt8(ascii: "+") { expNegative = c[i] == UInt8(ascii: "-"); i += 1 }
            var n = 0, expDigits = 0
            while i < c.count, c[i] >= 0x30, c[i] <= 0x39 {
                n = n * 10 + Int(c[i] - 0x30)
                expDigits += 1
                guard n < 400 else { return nil }
                i += 1
            }
            guard expDigits > 0 else { return nil }
            exponent = expNegative ? -n : n
        }
        guard i == c.count else { return nil }
        // value = mantissa × 10^(exponent − fractionDigits); units = value × 10^4.
        let shift = exponent - fractionDigits + 4
        var units = mantissa
        if shift >= 0 {
            guard mantissa == 0 || shift <= 30 else { return nil }
            for _ in 0..<shift { units *= 10; guard units <= Int128(Int64.max) else { return nil } }
        } else {
            // More than 38 places below the point rounds to zero whatever the (≤ 30-digit) mantissa.
            guard -shift <= 38 else { return Decimal4.zero }
            var divisor: Int128 = 1
            for _ in 0..<(-shift) { divisor *= 10 }
            units = divideRounded(mantissa, divisor)
        }
        guard units <= Int128(Int64.max) else { return nil }
        return Decimal4(units: Int64(negative ? -units : units))
    }
}
