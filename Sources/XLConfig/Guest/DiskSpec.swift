/// A `disk=` spec as the actions of xl's disk lexer leave it
/// (`libxlu_disk_l.l`, `xlu_disk_parse`), with where each part was written
/// (offsets into the decoded spec string).
struct DiskSpec: Sendable {
    struct Field: Sendable {
        var value: String
        var range: Range<Int>
    }

    struct Problem: Sendable {
        var message: String
        var range: Range<Int>
        var hint: String?
    }

    enum Specification: String, Sendable { case xen, virtio }

    var target: Field?
    var format: Field?
    var vdev: Field?
    var backend: Field?
    var backendType: Field?
    var specification: (value: Specification, range: Range<Int>)?
    var script: Field?
    /// Where `colo` was switched on (and not off again).
    var colo: Range<Int>?
    var grantUsage: (value: Bool, range: Range<Int>)?
    var isCdrom = false
    var problems: [Problem] = []
    /// Parameters `target=` took in as part of its value, as (name, range).
    var swallowed: [Field] = []

    /// Whether libxl treats this as a virtio disk (an absent specification is xen).
    var isVirtio: Bool { specification?.value == .virtio }

    /// The format libxl ends up with: raw by default, empty for a cdrom without a target.
    var effectiveFormat: String {
        isCdrom && (target?.value ?? "").isEmpty ? "empty" : format?.value ?? "raw"
    }
}

/// Runs xl's disk lexer actions over one spec.
struct DiskSpecParser {
    private let bytes: [UInt8]
    private let version: XenVersion
    private var spec = DiskSpec()
    private var hadDeprecatedPrefix = false
    private var accessSet = false
    private var otherStrings: [String: DiskSpec.Field] = [:]

    static let parameterNames = [
        "format", "devtype", "access", "backend", "backendtype", "specification", "vdev", "script", "target",
        "grant_usage", "colo-host", "colo-port", "colo-export", "active-disk", "hidden-disk",
    ]
    static let flagNames = ["cdrom", "direct-io-safe", "discard", "no-discard", "colo", "no-colo", "trusted", "untrusted"]

    static func parse(_ bytes: [UInt8], version: XenVersion) -> DiskSpec {
        var parser = DiskSpecParser(bytes: bytes, version: version)
        parser.run()
        return parser.spec
    }

    private init(bytes: [UInt8], version: XenVersion) {
        self.bytes = bytes
        self.version = version
    }

    private func text(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }

    /// Problems reported per spec; the rest are summed up in one line.
    static let problemLimit = 10

    private mutating func fail(_ message: String, _ range: Range<Int>, hint: String? = nil) {
        switch spec.problems.count {
        case ..<Self.problemLimit:
            spec.problems.append(DiskSpec.Problem(message: message, range: range, hint: hint))
        case Self.problemLimit:
            spec.problems.append(DiskSpec.Problem(message: "more problems in this disk spec are not shown", range: range,
                                                  hint: "fix the problems above first"))
        default:
            break
        }
    }

    /// The word of a deprecated `word:` prefix token, without the colon.
    private func prefixWord(_ range: Range<Int>) -> Range<Int> { range.lowerBound..<(range.upperBound - 1) }

    /// The range without one trailing comma (xl's `STRIP(',')`).
    private func stripComma(_ range: Range<Int>) -> Range<Int> {
        range.count > 0 && bytes[range.upperBound - 1] == Ascii.comma ? range.lowerBound..<(range.upperBound - 1) : range
    }

    private mutating func run() {
        var lexer = DiskSpecLexer(spec: bytes, version: version)
        var lastPositional: (range: Range<Int>, problemsBefore: Int)?
        while let token = lexer.next() {
            let range = token.range
            switch token.rule {
            case .blank, .directIOSafe, .discard, .noDiscard, .trusted, .untrusted:
                continue
            case .cdrom, .devtypeCdrom: spec.isCdrom = true
            case .devtypeDisk: spec.isCdrom = false
            case .colo: spec.colo = stripComma(range)
            case .noColo: spec.colo = nil
            case .grantUsageOn, .grantUsageOff:
                spec.grantUsage = (token.rule == .grantUsageOn, stripComma(range))
            case .devtypeOther:
                fail("unknown devtype `\(text(valueRange(range)))`", valueRange(range), hint: "devtype is cdrom or disk")
            case .target:
                let value = valueRange(range)
                spec.target = saved(DiskSpec.Field(value: text(value), range: value), as: "target", over: spec.target)
                noteSwallowed(value)
            case .unknownParameter:
                unknownParameter(range)
            case .formatPrefix:
                hadDeprecatedPrefix = true
                setFormat(DiskSpec.Field(value: text(prefixWord(range)), range: range))
            case .scriptPrefix:
                hadDeprecatedPrefix = true
                spec.script = saved(DiskSpec.Field(value: "block-" + text(prefixWord(range)), range: range), as: "script", over: spec.script)
            case .ignoredPrefix:
                hadDeprecatedPrefix = true
            case .unknownPrefix:
                fail("unknown deprecated disk prefix `\(text(range))`", range,
                     hint: "drop the prefix and give the target path alone, or use target=... for paths with `:`")
                return
            case .positional:
                let problemsBefore = spec.problems.count
                if !positional(DiskSpec.Field(value: text(stripComma(range)), range: stripComma(range))) { return }
                lastPositional = (range, problemsBefore)
                continue
            case .bad where range.upperBound == bytes.count:
                // Flex reaches the end of input before the error rule can
                // match, so a bad last byte is dropped without a word.
                continue
            case .bad:
                badSyntax(at: range.lowerBound, rest: lexer.restOfLine(from: range.lowerBound), after: lastPositional)
                return
            default:
                keyword(token.rule, range)
            }
            lastPositional = nil
        }
        guard spec.problems.isEmpty else { return }
        finish()
    }

    /// The value of a `key=value,` token.
    private func valueRange(_ range: Range<Int>) -> Range<Int> {
        let stripped = stripComma(range)
        let equals = bytes[stripped].firstIndex(of: Ascii.equals) ?? stripped.lowerBound
        return (equals + 1)..<stripped.upperBound
    }

    private mutating func keyword(_ rule: DiskRule, _ range: Range<Int>) {
        let valueRange = self.valueRange(range)
        let field = DiskSpec.Field(value: text(valueRange), range: valueRange)
        switch rule {
        case .format: setFormat(field)
        case .access: setAccess(field)
        case .backend: spec.backend = saved(field, as: "backend", over: spec.backend)
        case .backendType:
            guard ["phy", "tap", "qdisk", "standalone"].contains(field.value) else {
                fail("unknown backendtype `\(field.value)`", valueRange, hint: "backendtype is phy, tap, qdisk or standalone")
                return
            }
            spec.backendType = setOnce(field, as: "backendtype", over: spec.backendType)
        case .specification:
            guard let value = DiskSpec.Specification(rawValue: field.value) else {
                fail("unknown specification `\(field.value)`", valueRange, hint: "specification is xen or virtio")
                return
            }
            if let earlier = spec.specification, earlier.value != value {
                fail("specification given twice with different values", valueRange, hint: "keep one specification=")
                return
            }
            spec.specification = (value, valueRange)
        case .vdev: spec.vdev = saved(field, as: "vdev", over: spec.vdev)
        case .script: spec.script = saved(field, as: "script", over: spec.script)
        case .coloPort:
            if atoi(field.value) == 0 { fail("unknown colo-port `\(field.value)`", valueRange, hint: "colo-port is a port number") }
        default:
            // colo-host, colo-export, active-disk, hidden-disk: only "respecified" matters here.
            let name = text(range.lowerBound..<(valueRange.lowerBound - 1))
            if let earlier = otherStrings[name], !earlier.value.isEmpty {
                fail("\(name) given twice", valueRange, hint: "keep one \(name)=")
            } else {
                otherStrings[name] = field
            }
        }
    }

    /// `savestring`: a second non-empty value is an error. Returns the value to keep.
    private mutating func saved(_ field: DiskSpec.Field, as name: String, over earlier: DiskSpec.Field?) -> DiskSpec.Field? {
        if let earlier, !earlier.value.isEmpty {
            fail("\(name) given twice (first `\(earlier.value)`)", field.range, hint: "keep one \(name)")
            return earlier
        }
        return field
    }

    /// `DSET`: setting an enum again to a different value is an error. Returns the value to keep.
    private mutating func setOnce(_ field: DiskSpec.Field, as name: String, over earlier: DiskSpec.Field?) -> DiskSpec.Field? {
        if let earlier, earlier.value != field.value {
            fail("\(name) given twice with different values (`\(earlier.value)`, `\(field.value)`)", field.range, hint: "keep one \(name)")
            return earlier
        }
        return field
    }

    private mutating func setFormat(_ field: DiskSpec.Field) {
        let normalized = field.value.isEmpty ? "raw" : field.value
        guard ["raw", "qcow", "qcow2", "vhd", "empty", "qed"].contains(normalized) else {
            fail("unknown format `\(field.value)`", field.range, hint: "format is raw, qcow, qcow2, vhd, qed or empty")
            return
        }
        spec.format = setOnce(DiskSpec.Field(value: normalized, range: field.range), as: "format", over: spec.format)
    }

    private mutating func setAccess(_ field: DiskSpec.Field) {
        guard ["r", "ro", "rw", "w", ""].contains(field.value) else {
            fail("unknown access `\(field.value)`", field.range, hint: "access is ro or rw")
            return
        }
    }

    /// The positional action: target, format, vdev, access in turn.
    /// Returns false when xl stops lexing (too many positional parameters).
    private mutating func positional(_ field: DiskSpec.Field) -> Bool {
        if !spec.problems.isEmpty {
            // xl ignores positional parameters after an error.
        } else if spec.target == nil {
            spec.target = field
        } else if !hadDeprecatedPrefix && spec.format == nil {
            if spec.target?.value.isEmpty == true, vdevAndDevtype(field) {
                spec.format = DiskSpec.Field(value: "empty", range: field.range)
            } else {
                setFormat(field)
            }
        } else if spec.vdev == nil {
            if !vdevAndDevtype(field) { spec.vdev = saved(field, as: "vdev", over: spec.vdev) }
        } else if !accessSet {
            accessSet = true
            setAccess(field)
        } else {
            fail("too many positional parameters: `\(field.value)`", field.range,
                 hint: "positional parameters are target, format, vdev, access; name the others (key=value)")
            return false
        }
        return true
    }

    /// `vdev:devtype` (deprecated): true when the field had a colon.
    private mutating func vdevAndDevtype(_ field: DiskSpec.Field) -> Bool {
        guard let colon = bytes[field.range].lastIndex(of: Ascii.colon) else { return false }
        spec.vdev = saved(DiskSpec.Field(value: text(field.range.lowerBound..<colon), range: field.range.lowerBound..<colon), as: "vdev", over: spec.vdev)
        let typeRange = (colon + 1)..<field.range.upperBound
        switch text(typeRange) {
        case "cdrom": spec.isCdrom = true
        case "disk": spec.isCdrom = false
        default: fail("unknown deprecated device type `\(text(typeRange))`", typeRange, hint: "write devtype=cdrom or devtype=disk")
        }
        return true
    }

    /// `[a-z][-a-z0-9]*=[^,],?`: xl names the key and the first value character.
    private mutating func unknownParameter(_ range: Range<Int>) {
        let equals = bytes[range].firstIndex(of: Ascii.equals) ?? range.upperBound
        let key = text(range.lowerBound..<equals)
        fail("unknown disk parameter `\(key)=`", range.lowerBound..<min(equals + 1, range.upperBound), hint: parameterHint(key))
    }

    private func parameterHint(_ key: String) -> String {
        if key == "transport" { return "xl's disk syntax has no transport=; virtio disks always use mmio: remove it" }
        if let close = EditDistance.closest(to: key, in: Self.parameterNames, limit: 2) { return "did you mean `\(close)=`?" }
        return "disk parameters are \(Self.parameterNames.joined(separator: ", "))"
    }

    /// The lexer's error state: a byte no rule takes. When it is the `=` of
    /// a `KEY=` the lexer read as a positional parameter (a key with `_` or
    /// uppercase, or `grant_usage` before 4.19), that parameter is the problem.
    private mutating func badSyntax(at offset: Int, rest: Range<Int>, after positional: (range: Range<Int>, problemsBefore: Int)?) {
        if bytes[offset] == Ascii.equals, let positional, positional.range.upperBound == offset {
            spec.problems.removeSubrange(positional.problemsBefore...)
            let keyStart = bytes[positional.range].firstIndex { !Ascii.isSpace($0) } ?? positional.range.lowerBound
            let keyRange = keyStart..<(offset + 1)
            let key = String(text(keyStart..<offset).reversed().drop { $0 == " " || $0 == "\t" }.reversed())
            if key == "grant_usage" {
                let value = text((offset + 1)..<(bytes[(offset + 1)...].firstIndex(of: Ascii.comma) ?? bytes.count))
                if version < XenVersion(major: 4, minor: 19) {
                    fail("xl \(version) has no grant_usage= in disk specs", keyRange,
                         hint: "disk grant_usage needs Xen 4.19 or later (--xen-version); before that a virtio disk uses grants iff its backend is not dom0")
                } else {
                    fail("disk grant_usage takes only 1 or 0, not `\(value)`", keyRange, hint: "write grant_usage=1 or grant_usage=0")
                }
            } else {
                fail("unknown disk parameter `\(key)=`", keyRange, hint: parameterHint(key.lowercased()))
            }
            return
        }
        fail("bad disk syntax at `\(text(rest))`", offset..<rest.upperBound,
             hint: "disk parameters are KEY=VALUE or positional values, separated by commas")
    }

    /// Parameters `target=` took into its value: `..., vdev=xvda` after the path.
    private mutating func noteSwallowed(_ value: Range<Int>) {
        var cursor = value.lowerBound
        while let comma = bytes[cursor..<value.upperBound].firstIndex(of: Ascii.comma) {
            let start = bytes[(comma + 1)..<value.upperBound].firstIndex { !Ascii.isBlank($0) } ?? value.upperBound
            let end = bytes[start..<value.upperBound].firstIndex(of: Ascii.comma) ?? value.upperBound
            let parameter = text(start..<end)
            let name = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            if (parameter.contains("=") && Self.parameterNames.contains(name)) || Self.flagNames.contains(parameter) {
                spec.swallowed.append(DiskSpec.Field(value: parameter, range: start..<end))
            }
            cursor = comma + 1
        }
    }

    /// `xlu_disk_parse` after lexing: vdev and target are mandatory.
    private mutating func finish() {
        guard spec.vdev != nil else {
            if let eaten = spec.swallowed.first(where: { $0.value.hasPrefix("vdev=") }) {
                fail("no vdev: target= took `\(eaten.value)` into the target path", eaten.range,
                     hint: "target= takes the rest of the spec, commas included: put it last")
            } else {
                fail("no vdev specified", 0..<bytes.count, hint: "add vdev=xvda (required even for virtio disks; the guest never sees it)")
            }
            return
        }
        if spec.target == nil, !spec.isCdrom {
            fail("no target specified (and the device is not removable)", 0..<bytes.count,
                 hint: "add target=/path/to/image as the last parameter")
        }
    }

    /// C `atoi`.
    private func atoi(_ text: String) -> Int64 {
        let bytes = Array(text.utf8)
        let (value, end, _) = CNumber.strtol(bytes, base: 10)
        return end > 0 ? value : 0
    }
}
