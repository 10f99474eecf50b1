import Diagnostics

extension GuestReader {
    /// `irqs`, `iomem`, `dtdev`, `pci`: passthrough resources.
    mutating func readPassthrough() {
        if let items = settings.strictListItems("irqs") {
            for item in items { if let irq = readIRQ(item) { guest.irqs.append(irq) } }
        }
        if let items = settings.strictListItems("iomem") {
            for item in items { if let range = readIOMem(item) { guest.iomem.append(range) } }
        }
        guest.dtdev = settings.listItems("dtdev").map { Located($0.text.text, at: location($0.range)) }
        for item in settings.listItems("pci") {
            if let pci = readPCI(item) { guest.pci.append(pci) }
        }
    }

    /// `strtoul(item, &end, 10)`, the whole item, below `UINT32_MAX`.
    private mutating func readIRQ(_ item: Atom) -> Located<UInt32>? {
        let here = location(item.range)
        let bytes = item.text.bytes
        let (value, end, overflow) = CNumber.strtoul(bytes, base: 10)
        guard end > 0, end == bytes.count else {
            report(XLRules.invalidValue.at(here, "`\(item.text.text)` is not a decimal interrupt number (\"Invalid argument parsing irq\")",
                                           hint: "write the interrupt id in decimal, for example 48"))
            return nil
        }
        guard !overflow, value < UInt64(UInt32.max) else {
            report(XLRules.invalidValue.at(here, "interrupt `\(item.text.text)` is too big (\"irq too big\")",
                                           hint: "write the interrupt id in decimal, for example 48"))
            return nil
        }
        return Located(UInt32(value), at: here)
    }

    /// `sscanf(item, "%lx,%lx%n@%lx%n")` with nothing left over.
    private mutating func readIOMem(_ item: Atom) -> Located<IOMemRange>? {
        let bytes = item.text.bytes
        var range: IOMemRange?
        if let (start, afterStart) = CNumber.scanHex(bytes, from: 0), afterStart < bytes.count, bytes[afterStart] == Ascii.comma,
           let (count, afterCount) = CNumber.scanHex(bytes, from: afterStart + 1) {
            if afterCount == bytes.count {
                range = IOMemRange(firstMachineFrame: start, frameCount: count)
            } else if bytes[afterCount] == Ascii.at, let (gfn, afterGFN) = CNumber.scanHex(bytes, from: afterCount + 1), afterGFN == bytes.count {
                range = IOMemRange(firstMachineFrame: start, frameCount: count, firstGuestFrame: gfn)
            }
        }
        guard let range else {
            report(XLRules.invalidValue.at(location(item.range), "`\(item.text.text)` is not an iomem range (\"Invalid argument parsing iomem\")",
                                           hint: "write \"START,COUNT\" or \"START,COUNT@GFN\" in hexadecimal 4 KiB page numbers"))
            return nil
        }
        return Located(range, at: location(item.range))
    }

    private mutating func readPCI(_ item: Atom) -> Located<String>? {
        let here = location(item.range)
        if let problem = PCISpec.problem(in: item.text.bytes) {
            report(XLRules.invalidValue.at(here, "xl cannot parse the PCI spec `\(item.text.text)`: \(problem)",
                                           hint: "write \"[DDDD:]BB:DD.F\" with optional @VSLOT and ,KEY=VALUE options"))
            return nil
        }
        return Located(item.text.text, at: here)
    }
}
