/// The rules of xl's disk spec lexer (`libxlu_disk_l.l`), in file order.
/// Flex picks the rule matching the most text (trailing context counted),
/// the earlier rule on a tie; `DiskSpecLexer` reproduces that choice.
enum DiskRule: CaseIterable, Sendable {
    case blank
    case format, cdrom, devtypeCdrom, devtypeDisk, devtypeOther, access, backend, backendType, specification
    case vdev, script, directIOSafe, discard, noDiscard, colo, noColo
    case coloHost, coloPort, coloExport, activeDisk, hiddenDisk, trusted, untrusted
    case grantUsageOn, grantUsageOff
    case target, unknownParameter
    case formatPrefix, scriptPrefix, ignoredPrefix, unknownPrefix
    case positional, bad

    /// Rules of the form `name=[^,]*,?`.
    var keyword: String? {
        switch self {
        case .format: "format="
        case .devtypeOther: "devtype="
        case .access: "access="
        case .backend: "backend="
        case .backendType: "backendtype="
        case .specification: "specification="
        case .vdev: "vdev="
        case .script: "script="
        case .coloHost: "colo-host="
        case .coloPort: "colo-port="
        case .coloExport: "colo-export="
        case .activeDisk: "active-disk="
        case .hiddenDisk: "hidden-disk="
        default: nil
        }
    }

    /// Rules of the form `word,?`.
    var flag: String? {
        switch self {
        case .cdrom: "cdrom"
        case .devtypeCdrom: "devtype=cdrom"
        case .devtypeDisk: "devtype=disk"
        case .directIOSafe: "direct-io-safe"
        case .discard: "discard"
        case .noDiscard: "no-discard"
        case .colo: "colo"
        case .noColo: "no-colo"
        case .trusted: "trusted"
        case .untrusted: "untrusted"
        case .grantUsageOn: "grant_usage=1"
        case .grantUsageOff: "grant_usage=0"
        default: nil
        }
    }
}

/// One token of a disk spec: the rule flex would choose at a position.
struct DiskToken: Sendable {
    var rule: DiskRule
    /// The bytes the rule consumes (without trailing context).
    var range: Range<Int>
    /// For prefix rules: the prefix word without its `:`.
    var prefix: String?
}

/// Splits a disk spec as xl's disk lexer does.
struct DiskSpecLexer {
    private let spec: [UInt8]
    /// `grant_usage=` exists in the disk syntax from 4.19.
    private let hasGrantUsage: Bool
    private(set) var offset = 0
    /// For each offset, where the next newline, comma, and `=` or comma are
    /// (or the end): keeps every rule O(1) so long specs lex in linear time.
    private let nextNewline: [Int]
    private let nextComma: [Int]
    private let nextEqualsOrComma: [Int]

    init(spec: [UInt8], version: XenVersion) {
        self.spec = spec
        hasGrantUsage = version >= XenVersion(major: 4, minor: 19)
        nextNewline = Self.nextIndex(in: spec) { $0 == Ascii.newline }
        nextComma = Self.nextIndex(in: spec) { $0 == Ascii.comma }
        nextEqualsOrComma = Self.nextIndex(in: spec) { $0 == Ascii.comma || $0 == Ascii.equals }
    }

    private static func nextIndex(in bytes: [UInt8], where matches: (UInt8) -> Bool) -> [Int] {
        var table = [Int](repeating: bytes.count, count: bytes.count + 1)
        for index in bytes.indices.reversed() {
            table[index] = matches(bytes[index]) ? index : table[index + 1]
        }
        return table
    }

    /// Every rule in order, with the literal text of keyword and flag rules as bytes.
    private static let rules: [(rule: DiskRule, literal: [UInt8]?)] = DiskRule.allCases.map { rule in
        (rule, (rule.keyword ?? rule.flag).map { Array($0.utf8) })
    }
    private static let target = Array("target=".utf8)
    private static let formatPrefixes = ["raw", "qcow", "qcow2", "vhd"].map { Array(($0 + ":").utf8) }
    private static let scriptPrefixes = ["iscsi", "nbd", "enbd", "drbd"].map { Array(($0 + ":").utf8) }
    private static let ignoredPrefixes = ["tapdisk", "tap", "tap2", "aio", "ioemu", "file", "phy"].map { Array(($0 + ":").utf8) }

    /// The next token, or nil at the end of the spec.
    mutating func next() -> DiskToken? {
        guard offset < spec.count else { return nil }
        var best: (rule: DiskRule, total: Int, consumed: Int, prefix: String?)?
        for (rule, literal) in Self.rules {
            // A literal rule cannot match unless its first byte does.
            if let literal, literal[0] != spec[offset] { continue }
            guard let match = self.match(rule, literal: literal) else { continue }
            if let current = best, match.total <= current.total { continue }
            best = (rule, match.total, match.consumed, match.prefix)
        }
        // `.bad` always matches one byte that is not a newline, and `.blank` a newline.
        guard let best else { return nil }
        let token = DiskToken(rule: best.rule, range: offset..<(offset + best.consumed), prefix: best.prefix)
        offset += best.consumed
        return token
    }

    /// The rest of the line from `start` (`.*` in the error state).
    func restOfLine(from start: Int) -> Range<Int> { start..<lineEnd(from: start) }

    // MARK: Matching

    private struct Match {
        var total: Int
        var consumed: Int
        var prefix: String?
    }

    private func match(_ rule: DiskRule, literal: [UInt8]?) -> Match? {
        if let literal {
            if rule.keyword != nil { return keywordValue(literal) }
            if rule == .grantUsageOn || rule == .grantUsageOff, !hasGrantUsage { return nil }
            return offsetAfter(literal).map { commaOptional(after: $0) }.map { Match(total: $0, consumed: $0) }
        }
        switch rule {
        case .blank: return blank()
        case .target:
            guard let afterKey = offsetAfter(Self.target) else { return nil }
            let end = lineEnd(from: afterKey)
            return Match(total: end - offset, consumed: end - offset)
        case .unknownParameter: return unknownParameter()
        case .formatPrefix: return prefix(Self.formatPrefixes)
        case .scriptPrefix: return prefix(Self.scriptPrefixes)
        case .ignoredPrefix: return prefix(Self.ignoredPrefixes)
        case .unknownPrefix: return unknownPrefix()
        case .positional:
            var end = nextEqualsOrComma[offset]
            if end < spec.count, spec[end] == Ascii.comma { end += 1 }
            return end > offset ? Match(total: end - offset, consumed: end - offset) : nil
        case .bad:
            return spec[offset] == Ascii.newline ? nil : Match(total: 1, consumed: 1)
        default: return nil
        }
    }

    /// Offset after `text` when the spec continues with it here.
    private func offsetAfter(_ bytes: [UInt8]) -> Int? {
        guard offset + bytes.count <= spec.count, spec[offset..<(offset + bytes.count)].elementsEqual(bytes) else { return nil }
        return offset + bytes.count
    }

    /// `,?` after `end`: the length from the token start.
    private func commaOptional(after end: Int) -> Int {
        (end < spec.count && spec[end] == Ascii.comma ? end + 1 : end) - offset
    }

    /// `name=[^,]*,?`
    private func keywordValue(_ keyword: [UInt8]) -> Match? {
        guard let afterKey = offsetAfter(keyword) else { return nil }
        let length = commaOptional(after: nextComma[afterKey])
        return Match(total: length, consumed: length)
    }

    /// `[ \t\n]+/([^ \t\n].*)?`: the trailing context makes it win over everything.
    private func blank() -> Match? {
        var end = offset
        while end < spec.count, Ascii.isBlank(spec[end]) || spec[end] == Ascii.newline { end += 1 }
        guard end > offset else { return nil }
        let total = end < spec.count ? lineEnd(from: end + 1) : end
        return Match(total: total - offset, consumed: end - offset)
    }

    /// `[a-z][-a-z0-9]*=[^,],?`
    private func unknownParameter() -> Match? {
        guard Ascii.isLower(spec[offset]) else { return nil }
        var end = offset + 1
        while end < spec.count, Ascii.isLowerAlnum(spec[end]) || spec[end] == Ascii.minus { end += 1 }
        guard end + 1 < spec.count, spec[end] == Ascii.equals, spec[end + 1] != Ascii.comma else { return nil }
        let length = commaOptional(after: end + 2)
        return Match(total: length, consumed: length)
    }

    /// `(word1|word2):/.*`: consumes the word and its colon, counts the whole line.
    private func prefix(_ words: [[UInt8]]) -> Match? {
        for word in words {
            guard let afterColon = offsetAfter(word) else { continue }
            return Match(total: lineEnd(from: afterColon) - offset, consumed: afterColon - offset,
                         prefix: String(decoding: word.dropLast(), as: UTF8.self))
        }
        return nil
    }

    /// `[a-z][a-z0-9]*:/([^a-z0-9].*)?`
    private func unknownPrefix() -> Match? {
        guard Ascii.isLower(spec[offset]) else { return nil }
        var end = offset + 1
        while end < spec.count, Ascii.isLowerAlnum(spec[end]) { end += 1 }
        guard end < spec.count, spec[end] == Ascii.colon else { return nil }
        let afterColon = end + 1
        let total = afterColon < spec.count && !Ascii.isLowerAlnum(spec[afterColon]) ? lineEnd(from: afterColon + 1) : afterColon
        return Match(total: total - offset, consumed: afterColon - offset, prefix: String(decoding: spec[offset..<end], as: UTF8.self))
    }

    /// Offset of the next newline at or after `start` (or the end): where `.*` stops.
    private func lineEnd(from start: Int) -> Int { nextNewline[min(start, spec.count)] }
}
