/// A `virtio=` spec as `parse_virtio_list` (`xl_parse.c`, 4.18+) reads it:
/// `strtok` on commas (empty tokens vanish), leading spaces skipped, keys
/// matched as exact `key=` prefixes, and a `type=virtio...` value glued to
/// the next token with a comma. Offsets are into the decoded spec string.
struct VirtioSpec: Sendable {
    struct Field: Sendable {
        var value: String
        var range: Range<Int>
    }

    var backend: Field?
    var type: Field?
    var transport: Field?
    var grantUsage: Field?
    /// The token xl glued onto `type=virtio...`.
    var glued: Field?
    /// Tokens xl refuses with `Unknown string "%s" in virtio spec`.
    var unknownTokens: [Field] = []
    /// `transport=` values libxl does not know (xl exits without a message).
    var badTransports: [Field] = []
    /// `type=virtio...` with no token after it: xl dereferences NULL.
    var typeWithoutNext: Range<Int>?

    static let keys = ["backend", "type", "transport", "grant_usage"]
    /// Unknown tokens reported per spec.
    static let reportLimit = 10

    /// Whether xl refuses the spec.
    var isRefused: Bool { !unknownTokens.isEmpty || !badTransports.isEmpty || typeWithoutNext != nil }

    static func parse(_ bytes: [UInt8]) -> VirtioSpec {
        var spec = VirtioSpec()
        let tokens = strtok(bytes)
        var index = 0
        while index < tokens.count {
            var token = tokens[index]
            while token.lowerBound < token.upperBound, bytes[token.lowerBound] == Ascii.space { token = (token.lowerBound + 1)..<token.upperBound }
            guard bytes[token].starts(with: Self.typeVirtio) else {
                spec.apply(bytes[token], range: token)
                index += 1
                continue
            }
            guard index + 1 < tokens.count else {
                spec.typeWithoutNext = token
                return spec
            }
            let next = tokens[index + 1]
            spec.glued = Field(value: String(decoding: bytes[next], as: UTF8.self), range: next)
            spec.apply(bytes[token] + [Ascii.comma] + bytes[next], range: token.lowerBound..<next.upperBound)
            index += 2
        }
        return spec
    }

    private static let typeVirtio = Array("type=virtio".utf8)
    /// Each key with its `key=` prefix, in the order xl tries them.
    private static let prefixes = keys.map { (key: $0, bytes: Array(($0 + "=").utf8)) }

    /// Non-empty runs between commas, as successive `strtok(…, ",")` calls return them.
    private static func strtok(_ bytes: [UInt8]) -> [Range<Int>] {
        var tokens: [Range<Int>] = []
        var start = 0
        for (offset, byte) in bytes.enumerated() where byte == Ascii.comma {
            if offset > start { tokens.append(start..<offset) }
            start = offset + 1
        }
        if bytes.count > start { tokens.append(start..<bytes.count) }
        return tokens
    }

    /// `parse_virtio_config`: the later of two equal keys wins.
    private mutating func apply(_ token: ArraySlice<UInt8>, range: Range<Int>) {
        for (key, prefix) in Self.prefixes {
            guard token.starts(with: prefix) else { continue }
            let valueRange = (range.lowerBound + prefix.count)..<range.upperBound
            let field = Field(value: String(decoding: token.dropFirst(prefix.count), as: UTF8.self), range: valueRange)
            switch key {
            case "backend": backend = field
            case "type": type = field
            case "transport":
                transport = field
                if VirtioTransport(rawValue: field.value.lowercased()) == nil, badTransports.count < Self.reportLimit { badTransports.append(field) }
            default: grantUsage = field
            }
            return
        }
        // xl stops at the first; a few are worth showing, thousands are not.
        if unknownTokens.count < Self.reportLimit {
            unknownTokens.append(Field(value: String(decoding: token, as: UTF8.self), range: range))
        }
    }
}
