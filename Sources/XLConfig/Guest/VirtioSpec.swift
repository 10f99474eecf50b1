/// A `virtio=` spec as `parse_virtio_list` (`xl_parse.c`, 4.18+) reads it:
/// `strtok` on commas (empty tokens vanish), leading spaces skipped, keys
/// matched as exact `key=` prefixes, and a `type=virtio...` value glued to
/// the next token with a comma. Offsets are into the decoded spec string.
struct VirtioSpec: Sendable {
    /// A value as bytes: text is made only when asked for, since most
    /// fields (transport, grant_usage, the glued token) never need it.
    struct Field: Sendable {
        /// The value's bytes (a slice of the spec, or of the glued type).
        var bytes: ArraySlice<UInt8>
        /// Where the value lies in the decoded spec string.
        var range: Range<Int>

        var value: String { String(decoding: bytes, as: UTF8.self) }
    }

    var backend: Field?
    var type: Field?
    var transport: Field?
    /// What the last `transport=` names, when libxl knows it.
    var knownTransport: VirtioTransport?
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
        var tokens = CommaTokens(bytes: bytes)
        while var token = tokens.next() {
            while token.lowerBound < token.upperBound, bytes[token.lowerBound] == Ascii.space { token = (token.lowerBound + 1)..<token.upperBound }
            // No key holds a comma, so a literal matching here lies inside the token.
            guard bytes.hasLiteral("type=virtio", at: token.lowerBound) else {
                spec.apply(bytes, token)
                continue
            }
            guard let next = tokens.next() else {
                spec.typeWithoutNext = token
                return spec
            }
            spec.glued = Field(bytes: bytes[next], range: next)
            let valueStart = token.lowerBound + "type=".utf8.count
            var type: [UInt8] = []
            type.reserveCapacity(token.upperBound - valueStart + 1 + next.count)
            type += bytes[valueStart..<token.upperBound]
            type.append(Ascii.comma)
            type += bytes[next]
            spec.type = Field(bytes: type[...], range: valueStart..<next.upperBound)
        }
        return spec
    }

    /// Non-empty runs between commas, as successive `strtok(…, ",")` calls return them.
    private struct CommaTokens {
        let bytes: [UInt8]
        var cursor = 0

        mutating func next() -> Range<Int>? {
            while cursor < bytes.count, bytes[cursor] == Ascii.comma { cursor += 1 }
            guard cursor < bytes.count else { return nil }
            let start = cursor
            while cursor < bytes.count, bytes[cursor] != Ascii.comma { cursor += 1 }
            return start..<cursor
        }
    }

    /// `parse_virtio_config`: keys are tried as `key=` prefixes in xl's
    /// order, and the later of two equal keys wins.
    private mutating func apply(_ bytes: [UInt8], _ token: Range<Int>) {
        func field(after key: StaticString) -> Field? {
            guard bytes.hasLiteral(key, at: token.lowerBound) else { return nil }
            let value = (token.lowerBound + key.utf8CodeUnitCount)..<token.upperBound
            return Field(bytes: bytes[value], range: value)
        }
        if let value = field(after: "backend=") {
            backend = value
        } else if let value = field(after: "type=") {
            type = value
        } else if let value = field(after: "transport=") {
            transport = value
            knownTransport = VirtioTransport(caseInsensitive: bytes[value.range])
            if knownTransport == nil, badTransports.count < Self.reportLimit { badTransports.append(value) }
        } else if let value = field(after: "grant_usage=") {
            grantUsage = value
        } else if unknownTokens.count < Self.reportLimit {
            // xl stops at the first; a few are worth showing, thousands are not.
            unknownTokens.append(Field(bytes: bytes[token], range: token))
        }
    }
}

extension VirtioTransport {
    /// The transport `bytes` name in any case, as libxl's `_from_string`
    /// reads it. Non-ASCII text keeps the Unicode case mapping this reader
    /// has always used (a Kelvin sign lowercases to `k`).
    init?(caseInsensitive bytes: ArraySlice<UInt8>) {
        guard bytes.allSatisfy({ $0 < 0x80 }) else {
            self.init(rawValue: String(decoding: bytes, as: UTF8.self).lowercased())
            return
        }
        let named = { (transport: Self) in transport.rawValue.utf8.elementsEqual(bytes) { $0 == Ascii.lowercased($1) } }
        guard let transport = Self.allCases.first(where: named) else { return nil }
        self = transport
    }
}
