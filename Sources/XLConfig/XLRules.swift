import Diagnostics

/// Every rule of the xl.cfg front end. Severity policy: an error is
/// something xl or libxl refuses (or crashes on); a warning is something xl
/// accepts but that likely does not do what was written, or that only xl
/// refuses although the meaning is clear; a note is information.
public enum XLRules {
    // MARK: File syntax (libxlu_cfg_l.l, libxlu_cfg_y.y, libxlu_cfg.c)

    public static let lexical = Rule(
        "XL-LEXICAL", .error,
        summary: "a character xl's lexer rejects: uppercase or `-` in a key, a sign or decimal point in a number, an uppercase hex digit, stray punctuation, an unterminated string",
        fix: "keys are lowercase (`[a-z][._0-9a-z]*`), numbers are unsigned integers, everything else goes in quotes")
    public static let unquoted = Rule(
        "XL-UNQUOTED", .error,
        summary: "an unquoted word where a value belongs (`gic_version = v3`)",
        fix: "put strings in quotes, for example gic_version = \"v3\"")
    public static let syntax = Rule(
        "XL-SYNTAX", .error,
        summary: "a setting that is not `KEY = VALUE`: missing `=` or value, missing comma, unclosed list, two values in one setting",
        fix: "write one `KEY = VALUE` per line (or separate settings with `;`); lists are [ \"a\", \"b\" ]")
    public static let escape = Rule(
        "XL-ESCAPE", .error,
        summary: "a backslash escape xl rejects or mangles in a quoted string (`\\q`, numeric escapes)",
        fix: "use only \\\\ \\' \\\" \\a \\b \\f \\n \\r \\t \\v, and write other characters themselves")
    public static let addMismatch = Rule(
        "XL-ADD-MISMATCH", .error,
        summary: "`+=` adding a list to a string or a string to a list",
        fix: "append a string to a string and a list to a list")
    public static let crlf = Rule(
        "XL-CRLF", .warning,
        summary: "Windows (CRLF) line endings: xl's lexer refuses the carriage return",
        fix: "convert the file to Unix line endings (dos2unix)")
    public static let commentAtEOF = Rule(
        "XL-COMMENT-EOF", .warning,
        summary: "a comment on the last line without a newline: xl's lexer refuses it",
        fix: "end the file with a newline")
    public static let lastByte = Rule(
        "XL-LAST-BYTE", .warning,
        summary: "an invalid character as the very last byte of the file (no newline after it): xl drops it without a word",
        fix: "remove the character, or end the file with a newline")
    public static let overridden = Rule(
        "XL-OVERRIDDEN", .note,
        summary: "a key set again later with `=`: xl uses only the last assignment",
        fix: "remove the earlier assignment, or use += to append")
    public static let unknownKey = Rule(
        "XL-UNKNOWN-KEY", .warning,
        summary: "a key xl does not read: it is ignored silently (often a typo)",
        fix: "check the spelling against xl.cfg(5)")
    public static let versionKey = Rule(
        "XL-VERSION-KEY", .warning,
        summary: "a key the selected Xen version's xl does not read yet (`virtio` in 4.17, `nr_spis` before 4.19): ignored",
        fix: "select a newer version with --xen-version, or remove the key")

    // MARK: Reading values (xlu_cfg_get_long / _string / _list)

    public static let notANumber = Rule(
        "XL-NOT-A-NUMBER", .warning,
        summary: "a number that strtol cannot read completely: xl warns and ignores the setting",
        fix: "write a decimal number, 0x-prefixed hex, or 0-prefixed octal")
    public static let octal = Rule(
        "XL-OCTAL", .warning,
        summary: "a number with a leading zero, which xl reads as octal",
        fix: "drop the leading zero for decimal")
    public static let addNumber = Rule(
        "XL-ADD-NUMBER", .warning,
        summary: "`+=` on a key read as a number: xl ignores the setting",
        fix: "assign the number with `=`")
    public static let notAList = Rule(
        "XL-NOT-A-LIST", .warning,
        summary: "a single value where xl expects a list: the setting is ignored",
        fix: "put the value in brackets: [ \"...\" ]")
    public static let notSingle = Rule(
        "XL-NOT-SINGLE", .warning,
        summary: "a list where xl expects a single value: the setting is ignored",
        fix: "write the value without brackets")
    public static let nestedList = Rule(
        "XL-NESTED-LIST", .warning,
        summary: "a list inside a device list: xl stops reading the list there and ignores the rest",
        fix: "write each entry as a string, without inner brackets")

    // MARK: Guest keys (xl_parse.c)

    public static let nameMissing = Rule(
        "XL-NAME-MISSING", .error,
        summary: "no `name`: xl refuses the guest (`Domain name must be specified.`)",
        fix: "add name = \"...\"")
    public static let invalidValue = Rule(
        "XL-INVALID-VALUE", .error,
        summary: "a value xl refuses: `type`, `builder`, `gic_version`, `vuart`, `tee`, `irqs`, `iomem`, `pci`, a negative count",
        fix: "use one of the values xl.cfg(5) lists for the key")
    public static let maxvcpus = Rule(
        "XL-MAXVCPUS", .error,
        summary: "`maxvcpus` smaller than `vcpus`: xl refuses the guest (`maxvcpus < vcpus`)",
        fix: "make maxvcpus at least vcpus, or drop it (it defaults to vcpus)")
    public static let vcpusRaised = Rule(
        "XL-VCPUS-RAISED", .warning,
        summary: "`vcpus` below 1: the guest gets 1 vCPU",
        fix: "set vcpus to 1 or more")
    public static let cmdlineWins = Rule(
        "XL-CMDLINE-WINS", .warning,
        summary: "`root`/`extra` together with `cmdline`: xl ignores them in favour of `cmdline`",
        fix: "put everything in cmdline, or drop cmdline and use root/extra")
    public static let acpi = Rule(
        "XL-ACPI", .error,
        summary: "`acpi = 1`: grantdt does not build ACPI guests (libxl would add /chosen/module@20000000 and ACPI tables, and refuses ACPI for 32-bit guests)",
        fix: "remove acpi or set acpi = 0")
    public static let typePV = Rule(
        "XL-TYPE-PV", .note,
        summary: "`type = \"pv\"`: libxl on Arm converts the guest to PVH",
        fix: "write type = \"pvh\"")
    public static let typePrefix = Rule(
        "XL-TYPE-PREFIX", .note,
        summary: "an abbreviated `type` that xl completes by prefix (an empty one means hvm)",
        fix: "write the type in full: \"pvh\"")

    // MARK: disk= (libxlu_disk_l.l, libxl disk backend choice)

    public static let diskSpec = Rule(
        "XL-DISK-SPEC", .error,
        summary: "a disk spec xl's disk lexer refuses: unknown parameter, bad syntax, bad value, respecified or missing vdev/target",
        fix: "see xl-disk-configuration(5); for virtio: 'backend=2, specification=virtio, vdev=xvda, target=/dev/vg/guest'")
    public static let diskTargetRest = Rule(
        "XL-DISK-TARGET-REST", .warning,
        summary: "`target=` followed by more parameters: it takes the rest of the spec, commas included, so they become part of the path",
        fix: "put target= last in the disk spec")
    public static let diskBackend = Rule(
        "XL-DISK-BACKEND", .error,
        summary: "a disk libxl finds no backend for: a virtio disk needs the standalone backend, raw format, no script and no COLO",
        fix: "drop backendtype/format/script from the virtio disk (or use backendtype=standalone, format=raw)")

    // MARK: virtio= (xl_parse.c parse_virtio_list)

    public static let virtioSpec = Rule(
        "XL-VIRTIO-SPEC", .error,
        summary: "a virtio spec xl refuses: an unknown `KEY=VALUE` (spaces around `=` included) or a bad `transport`",
        fix: "use backend=, type=, transport=mmio and grant_usage= separated by commas, without spaces around `=`")
    public static let virtioTypeLast = Rule(
        "XL-VIRTIO-TYPE-LAST", .error,
        summary: "`type=virtio...` as the last token of a virtio spec: xl glues the next token to it and crashes when there is none",
        fix: "give the full type, for example type=virtio,device22, and put it before other keys")
    public static let virtioNoTransport = Rule(
        "XL-VIRTIO-NO-TRANSPORT", .warning,
        summary: "a virtio entry without `transport=mmio`: xl accepts it but the guest gets no node and no interrupt for it",
        fix: "add transport=mmio")
    public static let virtioTypeGlue = Rule(
        "XL-VIRTIO-TYPE-GLUE", .warning,
        summary: "a virtio entry without a node whose `type=virtio...` swallowed the next token (`virtio, device22`, or a whole `KEY=VALUE` such as `transport=mmio`); for an entry with `transport=mmio`, GUEST-VIRTIO-TYPE-INVALID reports the glued type instead",
        fix: "give the full type right after type=, without a space after its comma (type=virtio,device22), and add transport=mmio for a node")
    public static let virtioGrantUsage = Rule(
        "XL-VIRTIO-GRANT-USAGE", .warning,
        summary: "a virtio `grant_usage` that is not a number: xl reads it with strtoul, so `true`/`yes` mean 0 (grants off)",
        fix: "write grant_usage=1 or grant_usage=0")

    // MARK: Backends (libxl_domain_qualifier_to_domid)

    public static let backendName = Rule(
        "XL-BACKEND-NAME", .error,
        summary: "a backend given by a name that cannot be resolved (no --domains file, or not listed in it)",
        fix: "give the backend as a numeric domid, or pass --domains FILE with `NAME DOMID` lines")
    public static let backendRange = Rule(
        "XL-BACKEND-RANGE", .warning,
        summary: "a backend domid outside 0..0x7FEF (32752 and up are reserved): no domain can serve it",
        fix: "use the domid of the backend domain")
    public static let selfBackend = Rule(
        "XL-SELF-BACKEND", .warning,
        summary: "a device whose backend is the guest itself (per --domains)",
        fix: "run the backend in another domain")
    public static let mixedGrants = Rule(
        "XL-MIXED-GRANTS", .warning,
        summary: "one backend serving devices with grant_usage on and off: it must map all guest memory anyway, so grants isolate nothing",
        fix: "use the same grant_usage for every device of a backend")

    // MARK: --domains FILE

    public static let domainsSyntax = Rule(
        "XL-DOMAINS-SYNTAX", .error,
        summary: "a --domains line that is not `NAME DOMID` (name `[A-Za-z0-9_.-]+`, decimal domid)",
        fix: "write one `NAME DOMID` per line; `#` starts a comment")
    public static let domainsEntry = Rule(
        "XL-DOMAINS-ENTRY", .error,
        summary: "a --domains entry that cannot be real: duplicate name or domid, reserved domid, Domain-0 not 0",
        fix: "list each running domain once with its domid (0..32751)")

    /// Every front-end rule, in README order.
    public static let all: [Rule] = [
        lexical, unquoted, syntax, escape, addMismatch, crlf, commentAtEOF, lastByte, overridden, unknownKey, versionKey,
        notANumber, octal, addNumber, notAList, notSingle, nestedList,
        nameMissing, invalidValue, maxvcpus, vcpusRaised, cmdlineWins, acpi, typePV, typePrefix,
        diskSpec, diskTargetRest, diskBackend,
        virtioSpec, virtioTypeLast, virtioNoTransport, virtioTypeGlue, virtioGrantUsage,
        backendName, backendRange, selfBackend, mixedGrants,
        domainsSyntax, domainsEntry,
    ]
}
