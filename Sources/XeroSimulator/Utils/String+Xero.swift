import Crypto
import Foundation

extension String {
    var trimmingSpaces: String {
        // Fast path: nothing to trim at either end (ASCII check on the UTF-8 bytes).
        if let f = utf8.first, let l = utf8.last, f > 0x20, l > 0x20, f < 0x80, l < 0x80 { return self }
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return String(s)
    }

    /// Lower-cased and trimmed, inner runs of spaces collapsed: the key for unique names.
    var nameKey: String {
        var plain = true
        var previousSpace = true
        for b in utf8 {
            if b >= 0x80 || b == 0x09 || b == 0x0A || b == 0x0D || (b == 0x20 && previousSpace) { plain = false; break }
            previousSpace = b == 0x20
        }
        if plain && !previousSpace { return lowercased() }
        return split(whereSeparator: { $0.isWhitespace }).joined(separator: " ").lowercased()
    }

    /// `count > limit`, counting characters only when the byte count says it might be.
    func longer(than limit: Int) -> Bool { utf8.count > limit && count > limit }
}
