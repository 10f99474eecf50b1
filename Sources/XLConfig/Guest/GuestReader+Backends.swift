import Diagnostics

extension GuestReader {
    /// `libxl_domain_qualifier_to_domid`: an all-digit string (the empty one
    /// included) is a decimal domid; anything else is a domain name, looked
    /// up in `--domains`. Nil (with an error) when the name cannot be resolved.
    mutating func resolveBackend(_ written: String, at here: SourceLocation) -> Located<Backend>? {
        let backend: Backend
        if written.utf8.allSatisfy(Ascii.isDigit) {
            // strtoul into a uint32_t domid. On digits alone strtoul is plain
            // decimal that saturates on overflow, so no byte copy is needed.
            backend = Backend(domid: UInt32(truncatingIfNeeded: written.isEmpty ? 0 : UInt64(written) ?? .max))
        } else if let table = options.domains {
            guard let domid = table.domid(named: written) else {
                report(XLRules.backendName.at(here, "no domain named `\(written)` in \(table.file ?? "the --domains table"): libxl cannot find the backend",
                                              hint: nameHint(written, table: table)))
                return nil
            }
            backend = Backend(domid: domid, name: written)
        } else {
            report(XLRules.backendName.at(here, "backend `\(written)` is a domain name, which only a running system can resolve",
                                          hint: nameHint(written, table: nil)))
            return nil
        }
        if backend.domid > DomainID.lastValid {
            report(XLRules.backendRange.at(
                here, "backend domid \(backend.domid) is outside 0..\(DomainID.lastValid) (0x7FEF): no domain can have it",
                hint: "use the domid of the domain that runs the backend"))
        }
        return Located(backend, at: here)
    }

    private func nameHint(_ written: String, table: DomainTable?) -> String {
        let trimmed = written.trimmingBlanks
        if trimmed != written, !trimmed.isEmpty, trimmed.utf8.allSatisfy(Ascii.isDigit) {
            return "the value has spaces, so xl takes `\(written)` as a name: write backend=\(trimmed)"
        }
        let lower = trimmed.lowercased()
        if lower.hasPrefix("0x"), let value = UInt32(lower.dropFirst(2), radix: 16) {
            return "xl reads only decimal digits as a domid; `\(trimmed)` is a name to it: write backend=\(value)"
        }
        if let guestName = guest.name?.value, guestName == written {
            return "that is this guest's own name; run the backend in another domain"
        }
        guard let table else {
            return "give the backend's domid (backend=2), or pass --domains FILE with `NAME DOMID` lines to resolve names"
        }
        if let close = EditDistance.closest(to: written, in: table.names, limit: 2) { return "did you mean `\(close)`?" }
        return "add `\(written) DOMID` to \(table.file ?? "the --domains file"), or give the domid"
    }

    /// Checks across devices: a guest serving itself, a backend with grants both on and off.
    mutating func checkDevices() {
        let devices = nodeDevices
        if let name = guest.name?.value, let ownDomid = options.domains?.domid(named: name) {
            for device in devices where device.domid == ownDomid {
                guard let backend = backend(of: device) else { continue }
                report(XLRules.selfBackend.at(
                    backend.location, "the backend is domain \(ownDomid), which is this guest (`\(name)` in \(options.domains?.file ?? "--domains"))",
                    hint: "run the backend in another domain (a driver domain or dom0)"))
            }
        }
        var firstByDomid = [UInt32: NodeDevice](minimumCapacity: devices.count)
        var reported = Set<UInt32>()
        for device in devices {
            guard let first = firstByDomid[device.domid] else {
                firstByDomid[device.domid] = device
                continue
            }
            guard first.usesGrants != device.usesGrants, reported.insert(device.domid).inserted else { continue }
            let state = { (on: Bool) in on ? "on" : "off" }
            report(XLRules.mixedGrants.at(
                location(of: device),
                "backend domain \(device.domid) serves this device with grants \(state(device.usesGrants)) but the one on line \(location(of: first).line) with grants \(state(first.usesGrants)): it must be able to map all guest memory, so grants isolate nothing",
                hint: "use the same grant_usage for every device of backend \(device.domid)"))
        }
    }

    private func location(of device: NodeDevice) -> SourceLocation {
        device.isDisk ? guest.virtioDisks[device.index].location : guest.virtioDevices[device.index].location
    }

    private func backend(of device: NodeDevice) -> Located<Backend>? {
        device.isDisk ? guest.virtioDisks[device.index].backend : guest.virtioDevices[device.index].backend
    }
}

/// A disk or virtio device that gets a node, noted as it is read: what the
/// checks across devices compare, with where to find the rest (kept small,
/// so the checks copy no located values).
struct NodeDevice {
    /// Index into `virtioDisks`, or into `virtioDevices` when not a disk.
    var index: Int
    var isDisk: Bool
    /// The backend's domid (0 when absent).
    var domid: UInt32
    var usesGrants: Bool

    init(disk: VirtioDisk, index: Int) {
        self.init(index: index, isDisk: true, domid: disk.backend?.value.domid ?? 0, usesGrants: disk.usesGrants)
    }

    init(device: VirtioDevice, index: Int) {
        self.init(index: index, isDisk: false, domid: device.backend?.value.domid ?? 0, usesGrants: device.usesGrants)
    }

    private init(index: Int, isDisk: Bool, domid: UInt32, usesGrants: Bool) {
        self.index = index
        self.isDisk = isDisk
        self.domid = domid
        self.usesGrants = usesGrants
    }
}
