import XLConfig

/// Unused guest-physical space the guest may use for foreign and grant
/// mappings, listed after the grant-table region in `/hypervisor` `reg`
/// (`finalize_hypervisor_node` in libxl_arm.c).
enum ExtendedRegions {
    /// For each RAM bank: from the end of its RAM (rounded up to the
    /// alignment) to the bank's end or the top of the guest address space,
    /// whichever is lower; ranges below the minimum size are dropped. With
    /// `.splitByIOMem`, `iomem` ranges (sorted by guest frame) cut holes.
    static func find(
        bankSizes: [UInt64], gpaddrBits: Int, iomem: [IOMemRange], rules: VersionRules, template: Template
    ) -> [AddressRange] {
        let minimum = template.extendedRegions.minimumSize
        let topOfSpace: UInt64 = gpaddrBits >= 64 ? .max : (1 << UInt64(max(gpaddrBits, 1))) - 1
        let holes = rules.extendedRegions == .splitByIOMem
            ? iomem.sorted { $0.firstGuestFrame < $1.firstGuestFrame }.map(pageRange) : []
        let slots = rules.extendedRegions == .splitByIOMem ? rules.extendedRegionSlots : Int.max
        var regions: [AddressRange] = []
        for (bank, used) in zip(template.memoryMap.ramBanks, bankSizes) where regions.count < slots {
            var start = bank.base &+ BootMemory.roundUp(used, template.extendedRegions.alignment)
            let end = min(topOfSpace, bank.base &+ bank.size &- 1)  // inclusive
            guard end >= start, (end &- start) &+ 1 >= minimum else { continue }
            for hole in holes where regions.count < slots {
                guard hole.last >= start && hole.first <= end else { continue }
                if hole.first > start, hole.first - start >= minimum {
                    regions.append(AddressRange(base: start, size: hole.first - start))
                }
                start = hole.last &+ 1
                if start > end { break }
            }
            if end >= start && regions.count < slots && (end &- start) &+ 1 >= minimum {
                regions.append(AddressRange(base: start, size: (end &- start) &+ 1))
            }
        }
        // Before 4.21 each bank gives at most one region (no holes): the
        // per-bank loop above already ensures that.
        return regions
    }

    /// An `iomem` entry's guest-physical bytes, inclusive, computed with
    /// libxl's 64-bit wrap-around.
    private static func pageRange(_ range: IOMemRange) -> (first: UInt64, last: UInt64) {
        (range.firstGuestFrame &<< 12, ((range.firstGuestFrame &+ range.frameCount) &<< 12) &- 1)
    }
}
