import Crypto
import Foundation

extension String {
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
