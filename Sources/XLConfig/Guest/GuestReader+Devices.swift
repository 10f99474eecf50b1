import Diagnostics

extension GuestReader {
    /// The place of decoded bytes `range` of a spec string.
    func location(in item: Atom, _ range: Range<Int>) -> SourceLocation {
        location(item.text.fileRange(range, in: source))
    }

    // MARK: disk=

    mutating func readDisks() {
        let items = settings.listItems("disk")
        // Room for every entry up front: appending never regrows the lists.
        guest.virtioDisks.reserveCapacity(items.count)
        nodeDevices.reserveCapacity(nodeDevices.count + items.count)
        for item in items {
            guard let disk = readDisk(item) else { continue }
            nodeDevices.append(NodeDevice(disk: disk, index: guest.virtioDisks.count))
            // Moved, not copied: a copy retains and releases every located field.
            guest.virtioDisks.append(consume disk)
        }
    }

    /// One disk spec: every problem xl's disk lexer or libxl's backend
    /// choice would refuse; a `VirtioDisk` for a good virtio disk.
    private mutating func readDisk(_ item: Atom) -> VirtioDisk? {
        let spec = DiskSpecParser.parse(item.text.bytes, version: version)
        for problem in spec.problems {
            report(XLRules.diskSpec.at(location(in: item, problem.range), problem.message, hint: problem.hint))
        }
        guard spec.problems.isEmpty else { return nil }
        for eaten in spec.swallowed {
            report(XLRules.diskTargetRest.at(
                location(in: item, eaten.range), "`\(eaten.value)` is part of the target path: target= takes the rest of the spec",
                hint: "put target= last in the disk spec"))
        }
        guard spec.isVirtio else {
            if let backendType = spec.backendType, backendType.value == "standalone" {
                report(XLRules.diskBackend.at(
                    location(in: item, backendType.range), "the standalone backend serves only virtio disks: libxl finds no backend (\"no suitable backend\")",
                    hint: "add specification=virtio, or choose another backendtype"))
            }
            return nil
        }
        if let conflict = virtioBackendConflict(spec) {
            report(XLRules.diskBackend.at(location(in: item, conflict.range), conflict.message + ": libxl finds no backend for this virtio disk (\"no suitable backend\")",
                                          hint: conflict.hint))
            return nil
        }
        var backend: Located<Backend>?
        if let written = spec.backend {
            guard let resolved = resolveBackend(written.value, at: location(in: item, written.range)) else { return nil }
            backend = resolved
        }
        let grantUsage = spec.grantUsage.map { Located($0.value, at: location(in: item, $0.range)) }
        return VirtioDisk(location: location(item.range), backend: backend, grantUsage: grantUsage,
                          vdev: spec.vdev?.value ?? "", target: spec.target?.value)
    }

    /// libxl's `disk_try_backend` for specification virtio: only the
    /// standalone backend, which needs raw format, no script and no COLO.
    private func virtioBackendConflict(_ spec: DiskSpec) -> (message: String, range: Range<Int>, hint: String)? {
        if let backendType = spec.backendType, backendType.value != "standalone" {
            return ("backendtype=\(backendType.value) cannot serve a virtio disk", backendType.range,
                    "drop backendtype (virtio disks use the standalone backend)")
        }
        if spec.effectiveFormat != "raw" {
            let range = spec.format?.range ?? 0..<0
            return ("a virtio disk must be raw, not \(spec.effectiveFormat)", range, "drop format= or write format=raw")
        }
        if let script = spec.script {
            return ("a virtio disk cannot use script=", script.range, "drop script=")
        }
        if let colo = spec.colo {
            return ("a virtio disk cannot use COLO", colo, "drop colo")
        }
        return nil
    }

    // MARK: virtio=

    mutating func readVirtioDevices() {
        let items = settings.listItems("virtio")
        guest.virtioDevices.reserveCapacity(items.count)
        nodeDevices.reserveCapacity(nodeDevices.count + items.count)
        for item in items {
            guard let device = readVirtioDevice(item) else { continue }
            if device.hasMMIONode { nodeDevices.append(NodeDevice(device: device, index: guest.virtioDevices.count)) }
            guest.virtioDevices.append(consume device)
        }
    }

    private mutating func readVirtioDevice(_ item: Atom) -> VirtioDevice? {
        let spec = VirtioSpec.parse(item.text.bytes)
        for token in spec.unknownTokens { report(unknownVirtioToken(token, at: location(in: item, token.range))) }
        for transport in spec.badTransports {
            report(XLRules.virtioSpec.at(location(in: item, transport.range), "unknown transport `\(transport.value)`: xl exits without a message",
                                         hint: "write transport=mmio"))
        }
        if let range = spec.typeWithoutNext {
            report(XLRules.virtioTypeLast.at(
                location(in: item, range), "`\(item.text.text(range))` is the last token: xl glues the next token to a type starting with virtio and crashes when there is none",
                hint: "write the full type, for example type=virtio,device22, and keep other keys after it"))
        }
        guard !spec.isRefused else { return nil }

        let transport = spec.transport.flatMap { field in
            spec.knownTransport.map { Located($0, at: location(in: item, field.range)) }
        }
        // A device with a node has its type judged by the layout stage
        // (libxl refuses a glued type at build time), so glue is reported
        // here only for devices that get no node.
        if transport?.value != .mmio, !checkGlue(spec, in: item) {
            let message = transport == nil
                ? "virtio device without transport=: xl accepts it, but the guest gets no node and no interrupt for it"
                : "transport=unknown: the guest gets no node and no interrupt for this device"
            report(XLRules.virtioNoTransport.at(transport?.location ?? location(item.range), message, hint: "add transport=mmio"))
        }
        let grantUsage = spec.grantUsage.map { readGrantUsage($0, at: location(in: item, $0.range)) }
        var backend: Located<Backend>?
        if let written = spec.backend {
            guard let resolved = resolveBackend(written.value, at: location(in: item, written.range)) else { return nil }
            backend = resolved
        }
        return VirtioDevice(location: location(item.range), backend: backend,
                            type: spec.type.map { Located($0.value, at: location(in: item, $0.range)) },
                            transport: transport, grantUsage: grantUsage)
    }

    private func unknownVirtioToken(_ token: VirtioSpec.Field, at here: SourceLocation) -> Diagnostic {
        let written = token.value
        let trimmed = written.trimmingBlanks
        let key = String(trimmed.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first ?? "").trimmingBlanks
        let hint: String
        if trimmed.isEmpty {
            hint = "remove the empty item between the commas"
        } else if written.first == "\t", VirtioSpec.keys.contains(key) {
            hint = "xl skips only spaces before a key, not tabs: remove the tab"
        } else if let equals = written.firstIndex(of: "="), VirtioSpec.keys.contains(key),
                  written[..<equals].last == " " || written[written.index(after: equals)...].first == " " {
            hint = "remove the spaces around `=`: xl matches `\(key)=` exactly"
        } else if VirtioSpec.keys.contains(key) {
            hint = "write \(key)=VALUE"
        } else if let close = EditDistance.closest(to: key.lowercased(), in: VirtioSpec.keys, limit: 2) {
            hint = "did you mean `\(close)=`?"
        } else {
            hint = "virtio keys are backend=, type=, transport= and grant_usage="
        }
        return XLRules.virtioSpec.at(here, "unknown string \"\(written)\" in the virtio spec: xl exits", hint: hint)
    }

    /// Warns when the token glued onto `type=virtio...` of a device without
    /// a node was not meant as part of it; true when it swallowed the
    /// `transport=` setting (then that, not a missing transport, is the problem).
    private mutating func checkGlue(_ spec: VirtioSpec, in item: Atom) -> Bool {
        guard let glued = spec.glued, let type = spec.type?.value else { return false }
        let gluedText = glued.value
        let stripped = gluedText.trimmingBlanks
        if let key = VirtioSpec.keys.first(where: { stripped.hasPrefix($0 + "=") }) {
            let consequence = key == "transport" ? "; the device has no transport, so it gets no node" : "; that setting is lost"
            report(XLRules.virtioTypeGlue.at(
                location(in: item, glued.range), "xl glued `\(stripped)` into the type (`\(type)`)\(consequence)",
                hint: "give the full type right after type=, for example type=virtio,device22"))
            return key == "transport"
        }
        if gluedText.first == " " || gluedText.first == "\t" {
            report(XLRules.virtioTypeGlue.at(
                location(in: item, glued.range), "xl keeps the space after the comma: the type is `\(type)`, which libxl would refuse if the device had a node",
                hint: "write type=\(type.replacingBlanksAfterComma)"))
        }
        return false
    }

    /// `strtoul(value, NULL, 0)`: anything after the number is ignored, and
    /// a value with no number at all is 0 (grants off).
    private mutating func readGrantUsage(_ field: VirtioSpec.Field, at here: SourceLocation) -> Located<UInt64> {
        let bytes = Array(field.bytes)
        let (value, end, _) = CNumber.strtoul(bytes, base: 0)
        let rest = bytes[end...]
        if end == 0 {
            report(XLRules.virtioGrantUsage.at(
                here, "xl reads grant_usage=\(field.value) as 0: grants are OFF for this device",
                hint: "write grant_usage=1 to use grants (or grant_usage=0 to make off explicit)"))
        } else if !rest.allSatisfy(Ascii.isSpace) {
            report(XLRules.virtioGrantUsage.at(
                here, "xl reads only the number at the start of `\(field.value)`: grant_usage is \(value) (grants \(value != 0 ? "on" : "off"))",
                hint: "write grant_usage=1 or grant_usage=0"))
        }
        return Located(value, at: here)
    }
}

extension String {
    /// Without leading and trailing spaces and tabs.
    var trimmingBlanks: String {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        return String(drop(while: blank).reversed().drop(while: blank).reversed())
    }

    /// `virtio, device22` → `virtio,device22`.
    var replacingBlanksAfterComma: String {
        split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingBlanks }.joined(separator: ",")
    }
}
