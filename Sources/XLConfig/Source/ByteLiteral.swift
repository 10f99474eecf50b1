/// Matching ASCII literals against bytes in place, without making a
/// `String` or an array per comparison: the spec parsers try several
/// keywords at every position of short, hot strings.
extension Array where Element == UInt8 {
    /// Whether the bytes from `offset` on begin with `literal`.
    func hasLiteral(_ literal: StaticString, at offset: Int) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard offset >= 0, count <= self.count - offset else { return false }
        return literal.withUTF8Buffer { expected in
            withUnsafeBufferPointer { bytes in
                for index in 0..<count where bytes[offset + index] != expected[index] { return false }
                return true
            }
        }
    }
}
