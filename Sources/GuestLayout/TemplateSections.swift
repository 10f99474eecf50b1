import Diagnostics
import XLConfig

/// From parsed sections to a `Template`, then the consistency checks
/// that keep the layout arithmetic sound.
extension TemplateReader {
    static let fixedSections = ["", "memory-map", "virtio-mmio", "interrupts", "phandles", "vpci", "limits", "boot", "extended-regions"]

    func template(from sections: [TemplateSection]) -> Template? {
        var fixed: [String: TemplateSection] = [:]
        var versionSections: [(XenVersion, TemplateSection)] = []
        for section in sections {
            if section.name.hasPrefix("xen ") {
                if let version = version(section) {
                    if versionSections.contains(where: { $0.0 == version }), let header = section.header {
                        report(LayoutRules.templateKey, header.location, "[\(section.name)] appears twice")
                    }
                    versionSections.append((version, section))
                }
            } else if Self.fixedSections.contains(section.name) {
                if fixed[section.name] != nil, let header = section.header {
                    report(LayoutRules.templateKey, header.location, "[\(section.name)] appears twice")
                } else {
                    fixed[section.name] = section
                }
            } else if let header = section.header {
                report(LayoutRules.templateKey, header.location, "unknown section [\(section.name)]",
                       hint: "sections are " + Self.fixedSections.dropFirst().map { "[\($0)]" }.joined(separator: ", ") + " and [xen X.Y]")
            }
        }
        func fields(_ name: String) -> Fields {
            if let section = fixed[name] { return Fields(section, reader: self) }
            missing("section [\(name)]", at: nil)
            return Fields(TemplateSection(name: name, header: nil), reader: self, reportsMissingKeys: false)
        }
        let top = fields("")
        let name = top.word("name")
        if let format = top.number("format"), format != 1, let entry = top.section.entries.first(where: { $0.key.text == "format" }) {
            report(LayoutRules.templateValue, entry.values[0].location, "grantdt reads template format 1, not \(format)")
        }
        top.finish()
        let memoryMap = self.memoryMap(fields("memory-map"))
        let virtio = self.virtio(fields("virtio-mmio"))
        let interrupts = self.interrupts(fields("interrupts"))
        let phandles = self.phandles(fields("phandles"))
        let vpci = self.vpci(fields("vpci"))
        let limits = self.limits(fields("limits"))
        let boot = self.boot(fields("boot"))
        let extended = self.extendedRegions(fields("extended-regions"))
        let versions = self.versions(versionSections.sorted { $0.0 < $1.0 })
        guard let name, let memoryMap, let virtio, let interrupts, let phandles, let vpci, let limits, let boot,
              let extended, let versions
        else { return nil }
        return Template(
            name: name.text, memoryMap: memoryMap, virtioMMIO: virtio, interrupts: interrupts, phandles: phandles,
            vpci: vpci, limits: limits, boot: boot, extendedRegions: extended, versions: versions)
    }

    private func version(_ section: TemplateSection) -> XenVersion? {
        let text = section.name.dropFirst("xen ".count)
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        if parts.count == 2, let major = Self.number(String(parts[0])), let minor = Self.number(String(parts[1])),
           major < 100, minor < 100 {
            return XenVersion(major: Int(major), minor: Int(minor))
        }
        if let header = section.header {
            report(LayoutRules.templateSyntax, header.location, "'\(text)' is not a Xen version X.Y")
        }
        return nil
    }

    private func memoryMap(_ fields: Fields) -> Template.MemoryMap? {
        let banks = fields.all("ram-bank").compactMap(range)
        if fields.all("ram-bank").isEmpty && fields.reportsMissingKeys {
            missing("'ram-bank' in [memory-map]", at: fields.section.header)
        }
        let map = (
            fields.range("virtio-mmio"), fields.range("gicv2-distributor"), fields.range("gicv2-cpu-interface"),
            fields.range("gicv3-distributor"), fields.range("gicv3-redistributor"), fields.range("vpci-ecam"),
            fields.range("vpl011"), fields.range("vpci-mem"), fields.range("grant-table"), fields.range("vpci-prefetch-mem"))
        fields.finish()
        guard let virtio = map.0, let gicv2D = map.1, let gicv2C = map.2, let gicv3D = map.3, let gicv3R = map.4,
              let ecam = map.5, let vpl011 = map.6, let mem = map.7, let grants = map.8, let prefetch = map.9,
              !banks.isEmpty
        else { return nil }
        return Template.MemoryMap(
            virtioMMIO: virtio, gicv2Distributor: gicv2D, gicv2CPUInterface: gicv2C, gicv3Distributor: gicv3D,
            gicv3Redistributor: gicv3R, vpciECAM: ecam, vpl011: vpl011, vpciMem: mem, grantTable: grants,
            vpciPrefetchMem: prefetch, ramBanks: banks)
    }

    private func virtio(_ fields: Fields) -> Template.VirtioMMIO? {
        let size = fields.number("device-size")
        let spis = fields.numbers("spis", count: 2, limit: 1019)
        fields.finish()
        guard let size, let spis else { return nil }
        guard size > 0, spis[0] >= 32, spis[0] <= spis[1] else {
            reportValue(fields, "spis", "virtio SPIs are `FIRST LAST` with 32 <= FIRST <= LAST, and device-size is not 0")
            return nil
        }
        return Template.VirtioMMIO(deviceSize: size, spis: UInt32(spis[0])...UInt32(spis[1]))
    }

    private func interrupts(_ fields: Fields) -> Template.Interrupts? {
        let ppis = ["timer-secure-physical", "timer-physical", "timer-virtual", "event-channel"].map {
            key in fields.number(key, limit: 31).flatMap { value -> UInt32? in
                guard value >= 16 else {
                    reportValue(fields, key, "'\(key)' is a PPI: an interrupt id from 16 to 31")
                    return nil
                }
                return UInt32(value)
            }
        }
        let vpl011 = fields.number("vpl011", limit: 1019)
        fields.finish()
        guard let s = ppis[0], let p = ppis[1], let v = ppis[2], let e = ppis[3], let vpl011 else { return nil }
        guard vpl011 >= 32 else {
            reportValue(fields, "vpl011", "'vpl011' is an SPI: an interrupt id from 32 to 1019")
            return nil
        }
        return Template.Interrupts(timerSecurePhysical: s, timerPhysical: p, timerVirtual: v, eventChannel: e, vpl011: UInt32(vpl011))
    }

    private func phandles(_ fields: Fields) -> Template.Phandles? {
        let gic = fields.number("gic", limit: 0xffff_fffe)
        let iommu = fields.number("iommu", limit: 0xffff_fffe)
        fields.finish()
        guard let gic, let iommu else { return nil }
        guard gic != 0, iommu != 0, gic != iommu else {
            reportValue(fields, "iommu", "phandles must be non-zero and distinct")
            return nil
        }
        return Template.Phandles(gic: UInt32(gic), iommu: UInt32(iommu))
    }

    private func vpci(_ fields: Fields) -> Template.VPCI? {
        let bus = fields.numbers("bus-range", count: 2, limit: 255)
        let type = fields.number("mem-type", limit: 0xffff_ffff)
        fields.finish()
        guard let bus, let type else { return nil }
        guard bus[0] <= bus[1] else {
            reportValue(fields, "bus-range", "bus-range is `FIRST LAST` with FIRST <= LAST")
            return nil
        }
        return Template.VPCI(busRange: UInt32(bus[0])...UInt32(bus[1]), memType: UInt32(type))
    }

    private func limits(_ fields: Fields) -> Template.Limits? {
        let v2 = fields.number("vcpus-gicv2", limit: 4096)
        let v3 = fields.number("vcpus-gicv3", limit: 4096)
        let fdt = fields.number("fdt-max-size", limit: 1 << 30)
        fields.finish()
        guard let v2, let v3, let fdt else { return nil }
        guard v2 >= 1, v3 >= 1, fdt >= 4096 else {
            reportValue(fields, "fdt-max-size", "vCPU limits must be at least 1 and fdt-max-size at least 4096")
            return nil
        }
        return Template.Limits(vcpusGICv2: Int(v2), vcpusGICv3: Int(v3), fdtMaxSize: Int(fdt))
    }

    private func boot(_ fields: Fields) -> Template.Boot? {
        let offset = fields.number("arm32-kernel-offset", limit: 1 << 32)
        let kernelAlign = powerOfTwo(fields, "kernel-end-alignment")
        let moduleAlign = powerOfTwo(fields, "module-alignment")
        let preferred = fields.number("preferred-module-offset", limit: 1 << 40)
        fields.finish()
        guard let offset, let kernelAlign, let moduleAlign, let preferred else { return nil }
        return Template.Boot(
            arm32KernelOffset: offset, kernelEndAlignment: kernelAlign, moduleAlignment: moduleAlign,
            preferredModuleOffset: preferred)
    }

    private func extendedRegions(_ fields: Fields) -> Template.ExtendedRegions? {
        let alignment = powerOfTwo(fields, "alignment")
        let minimum = fields.number("minimum-size", limit: 1 << 62)
        fields.finish()
        guard let alignment, let minimum else { return nil }
        guard minimum > 0 else {
            reportValue(fields, "minimum-size", "minimum-size must not be 0")
            return nil
        }
        return Template.ExtendedRegions(alignment: alignment, minimumSize: minimum)
    }

    private func powerOfTwo(_ fields: Fields, _ key: String) -> UInt64? {
        guard let value = fields.number(key, limit: 1 << 40) else { return nil }
        guard value > 0, value & (value - 1) == 0 else {
            reportValue(fields, key, "'\(key)' must be a power of two")
            return nil
        }
        return value
    }

    /// A value problem at the key's first value (the entry exists: the
    /// callers only get here after reading it).
    private func reportValue(_ fields: Fields, _ key: String, _ message: String) {
        guard let entry = fields.section.entries.first(where: { $0.key.text == key }) else { return }
        report(LayoutRules.templateValue, (entry.values.first ?? entry.key).location, message)
    }

    /// The first section sets every key; later ones inherit and override.
    private func versions(_ sections: [(XenVersion, TemplateSection)]) -> [VersionRules]? {
        guard !sections.isEmpty else {
            missing("a [xen X.Y] section", at: nil)
            return nil
        }
        var result: [VersionRules] = []
        for (index, (version, section)) in sections.enumerated() {
            let fields = Fields(section, reader: self)
            let required = index == 0
            let virtio = fields.flag("virtio-devices", required: required)
            let diskGrants = fields.flag("disk-grant-usage", required: required)
            let iommu: VersionRules.IOMMUNode? = fields.choice("iommu-node", required: required)
            let nrSpis: VersionRules.NrSpis? = fields.choice("nr-spis", required: required)
            let prefetch = fields.number("vpci-prefetch-type", limit: 0xffff_ffff, required: required)
            let extended: VersionRules.ExtendedRegionPolicy? = fields.choice("extended-regions", required: required)
            let slots = fields.number("extended-region-slots", limit: 4096, required: required)
            fields.finish()
            if let slots, slots == 0 { reportValue(fields, "extended-region-slots", "extended-region-slots must be at least 1") }
            if let previous = result.last {
                result.append(VersionRules(
                    since: version, virtioDevices: virtio ?? previous.virtioDevices,
                    diskGrantUsage: diskGrants ?? previous.diskGrantUsage, iommuNode: iommu ?? previous.iommuNode,
                    nrSpis: nrSpis ?? previous.nrSpis, vpciPrefetchType: prefetch.map(UInt32.init) ?? previous.vpciPrefetchType,
                    extendedRegions: extended ?? previous.extendedRegions,
                    extendedRegionSlots: slots.map(Int.init) ?? previous.extendedRegionSlots))
            } else if let virtio, let diskGrants, let iommu, let nrSpis, let prefetch, let extended, let slots {
                result.append(VersionRules(
                    since: version, virtioDevices: virtio, diskGrantUsage: diskGrants, iommuNode: iommu, nrSpis: nrSpis,
                    vpciPrefetchType: UInt32(prefetch), extendedRegions: extended, extendedRegionSlots: Int(slots)))
            } else {
                return nil
            }
        }
        return result
    }
}

// MARK: - Consistency

extension TemplateReader {
    /// Fixed regions must not overlap each other or RAM (the two GIC forms
    /// are alternatives, so each is checked with the rest separately).
    func checked(_ template: Template, sections: [TemplateSection]) -> Template? {
        let map = template.memoryMap
        let common: [(String, AddressRange)] = [
            ("virtio-mmio", map.virtioMMIO), ("vpci-ecam", map.vpciECAM), ("vpl011", map.vpl011),
            ("vpci-mem", map.vpciMem), ("grant-table", map.grantTable), ("vpci-prefetch-mem", map.vpciPrefetchMem),
        ] + map.ramBanks.map { ("ram-bank", $0) }
        let gicv2 = [("gicv2-distributor", map.gicv2Distributor), ("gicv2-cpu-interface", map.gicv2CPUInterface)]
        let gicv3 = [("gicv3-distributor", map.gicv3Distributor), ("gicv3-redistributor", map.gicv3Redistributor)]
        var reported = Set<String>()
        for regions in [common + gicv2, common + gicv3] {
            for (i, first) in regions.enumerated() {
                for second in regions[(i + 1)...] where first.1.overlaps(second.1) {
                    let message = "\(first.0) \(first.1) overlaps \(second.0) \(second.1)"
                    guard reported.insert(message).inserted else { continue }
                    let location = sections.first { $0.name == "memory-map" }?.entries
                        .first { $0.key.text == second.0 }?.key.location
                    if let location {
                        report(LayoutRules.templateValue, location, message)
                    } else {
                        record(LayoutRules.templateValue.about(file: file, message))
                    }
                }
            }
        }
        return hasErrors ? nil : template
    }
}
