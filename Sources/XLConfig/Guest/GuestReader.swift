import Diagnostics

/// Reads the keys that shape an Arm guest tree from parsed settings, in
/// the way `parse_config_data` (`xl_parse.c`) reads them, and reports what
/// xl refuses or silently changes.
struct GuestReader {
    let source: SourceText
    let syntax: ConfigSyntax
    let options: XLOptions
    var settings: SettingReader
    var guest: GuestConfig
    let knownKeys: KnownKeys
    /// Every virtio disk, then every virtio device with an MMIO node, as read.
    var nodeDevices: [NodeDevice] = []

    init(source: SourceText, syntax: ConfigSyntax, options: XLOptions) {
        self.source = source
        self.syntax = syntax
        self.options = options
        settings = SettingReader(source: source, settings: syntax.settings)
        guest = GuestConfig(file: source.file)
        knownKeys = KnownKeys(version: options.xenVersion)
    }

    var diagnostics: [Diagnostic] { settings.diagnostics }
    var version: XenVersion { options.xenVersion }

    mutating func report(_ diagnostic: Diagnostic) { settings.report(diagnostic) }
    func location(_ range: Range<Int>) -> SourceLocation { source.location(range) }

    /// Whether this version's xl reads `key` (it ignores keys it does not know).
    func reads(_ key: String) -> Bool { knownKeys.status(of: key) == .known }

    mutating func read() -> GuestConfig {
        checkKeys()
        readName()
        readType()
        readMemory()
        readVCPUs()
        readBoot()
        readArmOptions()
        readPassthrough()
        readDisks()
        if reads("virtio") { readVirtioDevices() }
        checkDevices()
        return guest
    }

    // MARK: name, type

    private mutating func readName() {
        if let setting = settings.last("name"), case .list(let list) = setting.value {
            report(XLRules.nameMissing.at(
                location(list.range), "`name` is a list, so xl finds no domain name (\"Domain name must be specified.\")",
                hint: "write name = \"guest\""))
            return
        }
        if let name = settings.string("name") {
            guest.name = name
        } else if !syntax.brokenKeys.contains("name") {
            report(XLRules.nameMissing.about(file: source.file, "no `name`: xl refuses the guest (\"Domain name must be specified.\")",
                                             hint: "add name = \"guest\""))
        }
    }

    private mutating func readType() {
        var type: (value: Located<GuestType>, written: String)?
        if let written = settings.string("type"),
           let value = matchType(written, candidates: [("hvm", .hvm), ("pv", .pv), ("pvh", .pvh)], key: "type") {
            type = (value, written.value)
        }
        if let written = settings.string("builder"),
           let builder = matchType(written, candidates: [("hvm", .hvm), ("generic", .pv)], key: "builder") {
            if let type, type.value.value != builder.value {
                report(XLRules.invalidValue.at(
                    builder.location, "`builder` says \(builder.value.rawValue) but `type` says \(type.value.value.rawValue): xl refuses the contradiction",
                    hint: "remove builder (deprecated since Xen 4.10) and keep type"))
                return
            }
            if type == nil { type = (builder, written.value) }
        }
        guard let type else { return }
        guest.type = type.value
        if type.value.value == .pv {
            let reading = type.written == "pv" ? "" : "xl reads `\(type.written)` as pv, and "
            report(XLRules.typePV.at(type.value.location, reading + "libxl builds pv guests on Arm as PVH (\"Converting PV guest to PVH.\")",
                                     hint: "write type = \"pvh\""))
        }
    }

    /// xl's `strncmp(value, name, strlen(value))`: any prefix of a name
    /// matches, the empty string included, first candidate first.
    private mutating func matchType(_ written: Located<String>, candidates: [(String, GuestType)], key: String) -> Located<GuestType>? {
        guard let match = candidates.first(where: { $0.0.hasPrefix(written.value) }) else {
            report(XLRules.invalidValue.at(
                written.location, "invalid domain type `\(written.value)` for `\(key)` (\"Invalid domain type\")",
                hint: "on Arm write type = \"pvh\""))
            return nil
        }
        if written.value != match.0, match.1 != .pv {
            let reading = written.value.isEmpty ? "an empty `\(key)`" : "`\(written.value)`"
            report(XLRules.typePrefix.at(written.location, "xl completes \(reading) to `\(match.0)`",
                                         hint: "write \(key) = \"\(match.0)\"; Arm guests are \"pvh\""))
        }
        return Located(match.1, at: written.location)
    }

    // MARK: memory, vcpus

    private mutating func readMemory() {
        guest.memoryMiB = nonNegative("memory")
        guest.maxmemMiB = nonNegative("maxmem")
    }

    /// A number key that libxl cannot use when negative (it multiplies by 1024 into an unsigned field).
    private mutating func nonNegative(_ key: String) -> Located<UInt64>? {
        guard let number = settings.number(key) else { return nil }
        guard number.value >= 0 else {
            report(XLRules.invalidValue.at(number.location, "`\(key)` cannot be negative", hint: "write the size in MiB"))
            return nil
        }
        return Located(UInt64(number.value), at: number.location)
    }

    private mutating func readVCPUs() {
        // xl keeps vcpus in a long and max_vcpus in an int.
        var vcpus: Int64 = 1
        if let written = settings.number("vcpus") {
            vcpus = written.value
            if written.value < 1 {
                if version < XenVersion(major: 4, minor: 22), written.value < 0 {
                    report(XLRules.invalidValue.at(
                        written.location, "negative `vcpus`: xl \(version) fails (\"Unable to allocate cpumap\")", hint: "set vcpus to 1 or more"))
                    return
                }
                let who = version >= XenVersion(major: 4, minor: 22) ? "xl raises it" : "libxl falls back"
                report(XLRules.vcpusRaised.at(written.location, "vcpus = \(written.value): \(who) to 1 vCPU", hint: "set vcpus to 1 or more"))
                vcpus = 1
            }
            guest.vcpus = Located(Int(clamping: vcpus), at: written.location)
        }
        guard let written = settings.number("maxvcpus") else { return }
        var maxvcpus = Int64(Int32(truncatingIfNeeded: written.value))
        if maxvcpus == 0 { maxvcpus = vcpus }
        guard maxvcpus >= vcpus else {
            report(XLRules.maxvcpus.at(written.location, "maxvcpus (\(written.value)) is smaller than vcpus (\(vcpus)): xl refuses the guest (\"maxvcpus < vcpus\")",
                                       hint: "make maxvcpus at least \(vcpus), or drop it"))
            return
        }
        guest.maxvcpus = Located(Int(clamping: maxvcpus), at: written.location)
    }

    // MARK: kernel, ramdisk, command line

    private mutating func readBoot() {
        guest.kernel = settings.string("kernel")
        guest.ramdisk = settings.string("ramdisk")
        guest.deviceTree = settings.string("device_tree")
        guest.cmdline = settings.string("cmdline")
        guest.root = settings.string("root")
        guest.extra = settings.string("extra")
        guard let cmdline = guest.cmdline, guest.root != nil || guest.extra != nil else { return }
        let ignored = [("root", guest.root), ("extra", guest.extra)].compactMap { key, value in value.map { (key, $0) } }
        guard let first = ignored.min(by: { ($0.1.location.line, $0.1.location.column) < ($1.1.location.line, $1.1.location.column) }) else { return }
        let names = ignored.map { "`\($0.0)`" }.joined(separator: " and ")
        report(XLRules.cmdlineWins.at(
            first.1.location, "xl ignores \(names) in favour of `cmdline` (line \(cmdline.location.line))",
            hint: "put root=... and the extra arguments into cmdline, or drop cmdline"))
    }

    // MARK: gic_version, vuart, tee, acpi, nr_spis

    private mutating func readArmOptions() {
        if let written = settings.string("gic_version") {
            guest.gicVersion = enumValue(written, key: "gic_version", [("default", GICVersion.hostDefault), ("v2", .v2), ("v3", .v3)])
        }
        if let written = settings.string("vuart") {
            guest.vuart = enumValue(written, key: "vuart", [("unknown", false), ("sbsa_uart", true)])
        }
        if let written = settings.string("tee") {
            var choices: [(String, TEE)] = [("none", .none), ("optee", .optee)]
            if version >= XenVersion(major: 4, minor: 18) { choices.append(("ffa", .ffa)) }
            guest.tee = enumValue(written, key: "tee", choices,
                                  extraHint: written.value.lowercased() == "ffa" ? "tee = \"ffa\" needs Xen 4.18 or later (--xen-version)" : nil)
        }
        // Refused here, and kept out of the guest: nothing downstream builds ACPI.
        if let written = settings.number("acpi") {
            if written.value != 0 {
                report(XLRules.acpi.at(written.location, "ACPI guests are not supported by grantdt",
                                       hint: "remove acpi or set acpi = 0; Arm guests boot from the device tree"))
            }
        }
        if reads("nr_spis"), let written = settings.number("nr_spis") {
            if written.value < 0 {
                report(XLRules.invalidValue.at(written.location, "`nr_spis` cannot be negative", hint: "write the number of SPIs the guest needs"))
            } else {
                // libxl keeps nr_spis in a uint32_t.
                guest.nrSpis = Located(Int(UInt32(truncatingIfNeeded: written.value)), at: written.location)
            }
        }
    }

    /// libxl's `<enum>_from_string`: case-insensitive names.
    private mutating func enumValue<Value>(_ written: Located<String>, key: String, _ choices: [(String, Value)],
                                           extraHint: String? = nil) -> Located<Value>? {
        if let match = choices.first(where: { $0.0 == written.value.lowercased() }) {
            return Located(match.1, at: written.location)
        }
        let names = choices.map { "\"\($0.0)\"" }.joined(separator: ", ")
        let close = EditDistance.closest(to: written.value.lowercased(), in: choices.map(\.0), limit: 2)
        report(XLRules.invalidValue.at(
            written.location, "unknown \(key) \"\(written.value)\": xl refuses it",
            hint: extraHint ?? (close.map { "did you mean \(key) = \"\($0)\"? " } ?? "") + "\(key) takes \(names)"))
        return nil
    }
}
