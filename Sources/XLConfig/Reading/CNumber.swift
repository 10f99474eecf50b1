/// C's number conversions on bytes, as glibc does them in the C locale:
/// leading `isspace` skipped, an optional sign, base 0 picks `0x` hex,
/// `0` octal or decimal. `end` is how many bytes were used (0 when no
/// digits were found, like an `endptr` left at the start).
enum CNumber {
    struct Scan {
        var negative: Bool
        var magnitude: UInt64
        /// The magnitude did not fit in 64 bits.
        var overflow: Bool
        var end: Int
        /// The base actually used (8, 10 or 16 for base 0).
        var base: Int
        /// Offset of the first digit (after blanks, sign and `0x`).
        var digitsStart: Int
    }

    /// `strtol(text, &end, base)`.
    static func strtol(_ text: [UInt8], base: Int) -> (value: Int64, end: Int, overflow: Bool) {
        let scan = self.scan(text, base: base)
        if scan.negative {
            guard scan.magnitude <= UInt64(Int64.max) + 1, !scan.overflow else { return (Int64.min, scan.end, true) }
            return (scan.magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(scan.magnitude), scan.end, false)
        }
        guard scan.magnitude <= UInt64(Int64.max), !scan.overflow else { return (Int64.max, scan.end, true) }
        return (Int64(scan.magnitude), scan.end, false)
    }

    /// `strtoul(text, &end, base)`: a minus sign negates in unsigned arithmetic.
    static func strtoul(_ text: [UInt8], base: Int) -> (value: UInt64, end: Int, overflow: Bool) {
        let scan = self.scan(text, base: base)
        guard !scan.overflow else { return (UInt64.max, scan.end, true) }
        return (scan.negative ? 0 &- scan.magnitude : scan.magnitude, scan.end, false)
    }

    static func scan(_ text: [UInt8], from start: Int = 0, base requested: Int) -> Scan {
        var cursor = start
        while cursor < text.count, Ascii.isSpace(text[cursor]) { cursor += 1 }
        var negative = false
        if cursor < text.count, text[cursor] == Ascii.plus || text[cursor] == Ascii.minus {
            negative = text[cursor] == Ascii.minus
            cursor += 1
        }
        var base = requested
        let hasHexPrefix = cursor + 2 < text.count && text[cursor] == Ascii.zero
            && (text[cursor + 1] == Ascii.x || text[cursor + 1] == Ascii.upperX)
            && Ascii.digitValue(text[cursor + 2], base: 16) != nil
        if (base == 0 || base == 16), hasHexPrefix {
            base = 16
            cursor += 2
        } else if base == 0 {
            base = cursor < text.count && text[cursor] == Ascii.zero ? 8 : 10
        }
        let digitsStart = cursor
        var magnitude: UInt64 = 0
        var overflow = false
        while cursor < text.count, let digit = Ascii.digitValue(text[cursor], base: base) {
            let (shifted, over1) = magnitude.multipliedReportingOverflow(by: UInt64(base))
            let (sum, over2) = shifted.addingReportingOverflow(UInt64(digit))
            overflow = overflow || over1 || over2
            magnitude = sum
            cursor += 1
        }
        let end = cursor == digitsStart ? start : cursor
        return Scan(negative: negative, magnitude: magnitude, overflow: overflow, end: end, base: base, digitsStart: digitsStart)
    }

    /// The `%x` conversion of `sscanf` at `start`: blanks, sign, optional
    /// `0x`, hex digits. Nil when no digit follows.
    static func scanHex(_ text: [UInt8], from start: Int) -> (value: UInt64, end: Int)? {
        let scan = self.scan(text, from: start, base: 16)
        guard scan.end > start else { return nil }
        let value = scan.overflow ? UInt64.max : (scan.negative ? 0 &- scan.magnitude : scan.magnitude)
        return (value, scan.end)
    }
}
