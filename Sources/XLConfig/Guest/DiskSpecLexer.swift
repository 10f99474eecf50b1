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
    var keyword: StaticString? {
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
    var flag: StaticString? {
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

    /// The literal texts a match starts with: the keyword or flag, `target=`,
    /// or the words of a deprecated `word:` prefix rule (colon included).
    var literals: [StaticString] {
        if let literal = keyword ?? flag { return [literal] }
        switch self {
        case .target: return ["target="]
        case .formatPrefix: return ["raw:", "qcow:", "qcow2:", "vhd:"]
        case .scriptPrefix: return ["iscsi:", "nbd:", "enbd:", "drbd:"]
        case .ignoredPrefix: return ["tapdisk:", "tap:", "tap2:", "aio:", "ioemu:", "file:", "phy:"]
        default: return []
        }
    }

    /// Whether a match of this rule without literal text can begin with
    /// `byte`. Positional parameters and bad bytes, the last two rules, can
    /// begin almost anywhere: the lexer tries them at every byte itself.
    private func patternCanStart(with byte: UInt8) -> Bool {
        switch self {
        case .blank: Ascii.isBlank(byte) || byte == Ascii.newline
        case .unknownParameter, .unknownPrefix: Ascii.isLower(byte)
        default: false
        }
    }

    /// For each first byte, what the lexer tries there before the last two
    /// rules, in rule order (a prefix rule once per word that can start
    /// there, in word order): the same choice as trying every rule, since
    /// the others cannot match. Most rows are empty.
    static let candidates: [[DiskCandidate]] = {
        var table = [[DiskCandidate]](repeating: [], count: 256)
        for rule in allCases {
            let literals = rule.literals
            for literal in literals {
                literal.withUTF8Buffer { table[Int($0[0])].append(DiskCandidate(rule: rule, literal: literal)) }
            }
            guard literals.isEmpty else { continue }
            for byte in UInt8.min...UInt8.max where rule.patternCanStart(with: byte) {
                table[Int(byte)].append(DiskCandidate(rule: rule, literal: nil))
            }
        }
        return table
    }()
}

/// A rule as the lexer tries it, with the literal it must start with.
struct DiskCandidate: Sendable {
    var rule: DiskRule
    /// Nil for rules that are patterns only (blanks, unknown names, positional, bad bytes).
    var literal: StaticString?
}

/// One token of a disk spec: the rule flex would choose at a position.
struct DiskToken: Sendable {
    var rule: DiskRule
    /// The bytes the rule consumes (without trailing context). For the
    /// prefix rules, the prefix word and its `:`.
    var range: Range<Int>
}

/// Splits a disk spec as xl's disk lexer does.
struct DiskSpecLexer {
    private let spec: [UInt8]
    /// `grant_usage=` exists in the disk syntax from 4.19.
    private let hasGrantUsage: Bool
    private(set) var offset = 0
    /// Offsets of the spec's newlines (only a `\n` escape makes one), where `.*` stops.
    private let newlines: [Int]
    /// The last `[^=,]*` scan: the first `=` or `,` at or after `from` is
    /// at `end`. Tokens start at increasing offsets, so reusing it keeps
    /// long specs lexing in linear time.
    private var equalsOrComma = (from: 0, end: -1)
    /// `DiskRule.candidates`, fetched once per spec rather than once per token.
    private let candidates = DiskRule.candidates

    init(spec: [UInt8], version: XenVersion) {
        self.spec = spec
        hasGrantUsage = version >= XenVersion(major: 4, minor: 19)
        newlines = spec.indices.filter { spec[$0] == Ascii.newline }
    }

    /// The next token, or nil at the end of the spec.
    mutating func next() -> DiskToken? {
        guard offset < spec.count else { return nil }
        var best: (rule: DiskRule, match: Match)?
        for candidate in candidates[Int(spec[offset])] { consider(candidate, &best) }
        consider(DiskCandidate(rule: .positional, literal: nil), &best)
        consider(DiskCandidate(rule: .bad, literal: nil), &best)
        // `.bad` always matches one byte that is not a newline, and `.blank` a newline.
        guard let best else { return nil }
        let token = DiskToken(rule: best.rule, range: offset..<(offset + best.match.consumed))
        offset += best.match.consumed
        return token
    }

    /// The rest of the line from `start` (`.*` in the error state).
    func restOfLine(from start: Int) -> Range<Int> { start..<lineEnd(from: start) }

    // MARK: Matching

    private struct Match {
        /// Bytes matched, trailing context included: flex's measure for picking a rule.
        var total: Int
        /// Bytes the token takes.
        var consumed: Int

        init(total: Int, consumed: Int) {
            self.total = total
            self.consumed = consumed
        }

        init(length: Int) { self.init(total: length, consumed: length) }
    }

    /// Flex's choice: the longest match, the earlier rule on a tie.
    private mutating func consider(_ candidate: DiskCandidate, _ best: inout (rule: DiskRule, match: Match)?) {
        guard let match = self.match(candidate) else { return }
        if let current = best, match.total <= current.match.total { return }
        best = (candidate.rule, match)
    }

    private mutating func match(_ candidate: DiskCandidate) -> Match? {
        if let literal = candidate.literal {
            guard let afterLiteral = offsetAfter(literal) else { return nil }
            let rule = candidate.rule
            if rule.keyword != nil { return keywordValue(after: afterLiteral) }
            if rule.flag != nil {
                if rule == .grantUsageOn || rule == .grantUsageOff, !hasGrantUsage { return nil }
                // `word,?`
                return Match(length: commaOptional(after: afterLiteral))
            }
            // `target=.*` takes the rest of the line; `word:/.*` consumes
            // the word and its colon but counts the whole line.
            let line = lineEnd(from: afterLiteral) - offset
            return Match(total: line, consumed: rule == .target ? line : afterLiteral - offset)
        }
        switch candidate.rule {
        case .blank: return blank()
        case .unknownParameter: return unknownParameter()
        case .unknownPrefix: return unknownPrefix()
        case .positional:
            var end = equalsOrCommaEnd()
            if end < spec.count, spec[end] == Ascii.comma { end += 1 }
            return end > offset ? Match(length: end - offset) : nil
        case .bad:
            return spec[offset] == Ascii.newline ? nil : Match(length: 1)
        default:
            return nil // literal rules, matched above
        }
    }

    /// Offset after `literal` when the spec continues with it here.
    private func offsetAfter(_ literal: StaticString) -> Int? {
        spec.hasLiteral(literal, at: offset) ? offset + literal.utf8CodeUnitCount : nil
    }

    /// `,?` after `end`: the length from the token start.
    private func commaOptional(after end: Int) -> Int {
        (end < spec.count && spec[end] == Ascii.comma ? end + 1 : end) - offset
    }

    /// `name=[^,]*,?` from just after `name=`. The scan never runs past
    /// the token it makes: no other rule matching here is longer.
    private func keywordValue(after afterKey: Int) -> Match {
        var end = afterKey
        while end < spec.count, spec[end] != Ascii.comma { end += 1 }
        return Match(length: commaOptional(after: end))
    }

    /// The first `=` or `,` at or after the current offset, or the end.
    private mutating func equalsOrCommaEnd() -> Int {
        if equalsOrComma.from <= offset, offset <= equalsOrComma.end { return equalsOrComma.end }
        var end = offset
        while end < spec.count, spec[end] != Ascii.equals, spec[end] != Ascii.comma { end += 1 }
        equalsOrComma = (offset, end)
        return end
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
        return Match(length: commaOptional(after: end + 2))
    }

    /// `[a-z][a-z0-9]*:/([^a-z0-9].*)?`
    private func unknownPrefix() -> Match? {
        guard Ascii.isLower(spec[offset]) else { return nil }
        var end = offset + 1
        while end < spec.count, Ascii.isLowerAlnum(spec[end]) { end += 1 }
        guard end < spec.count, spec[end] == Ascii.colon else { return nil }
        let afterColon = end + 1
        let total = afterColon < spec.count && !Ascii.isLowerAlnum(spec[afterColon]) ? lineEnd(from: afterColon + 1) : afterColon
        return Match(total: total - offset, consumed: afterColon - offset)
    }

    /// Offset of the first newline at or after `start` (or the end): where `.*` stops.
    private func lineEnd(from start: Int) -> Int {
        var low = 0, high = newlines.count
        while low < high {
            let mid = (low + high) / 2
            if newlines[mid] < start { low = mid + 1 } else { high = mid }
        }
        return low < newlines.count ? newlines[low] : spec.count
    }
}
