import GrantEngine

/// Guest memory for one in-flight request, one contiguous allocation:
///
///     guard | control | data A (n pages) | guard | data B (n pages) | guard
///
/// The control page holds the virtio-blk header (offset 0) and status
/// byte (offset 16), as Linux keeps both in one request structure. Data A
/// is virtio-blk's data or the loopback's outgoing buffer, data B the
/// loopback's incoming one. Guard pages hold a canary pattern: no backend
/// was ever given them, so they must never change.
struct RequestSlot: Hashable {
    let first: FrameNumber
    let dataPages: Int

    static let headerOffset = 0
    static let statusOffset = 16

    /// Pages for data of up to `maxRequest` bytes starting anywhere in
    /// the first 4 KiB.
    static func dataPages(for maxRequest: Int) -> Int { XenPage.count(offset: XenPage.size - 512, length: maxRequest) }

    var pageCount: Int { 4 + 2 * dataPages }
    var control: GuestAddress { first.advanced(by: 1).address }
    var dataA: GuestAddress { first.advanced(by: 2).address }
    var dataB: GuestAddress { first.advanced(by: 3 + dataPages).address }
    var guards: [FrameNumber] { [first, first.advanced(by: 2 + dataPages), first.advanced(by: 3 + 2 * dataPages)] }
}

/// The request slots of one device.
struct RequestSlots {
    let slots: [RequestSlot]

    /// Allocates `count` slots from the guest's page allocator and fills
    /// their guard pages.
    init(count: Int, maxRequest: Int, guest: Domain) throws(RunError) {
        let dataPages = RequestSlot.dataPages(for: maxRequest)
        var slots: [RequestSlot] = []
        for _ in 0..<count {
            let pages = 4 + 2 * dataPages
            do throws(PageAllocationError) {
                slots.append(RequestSlot(first: try guest.pages.allocate(pages: pages), dataPages: dataPages))
            } catch {
                for slot in slots { guest.pages.free(slot.first, pages: slot.pageCount) }
                throw .machine("cannot allocate request buffers in guest RAM: \(error)")
            }
        }
        self.slots = slots
        for slot in slots {
            for page in slot.guards {
                try? guest.memory.fill(at: page.address, count: XenPage.size, with: Canary.guestByte)
            }
        }
    }

    /// The guard pages whose bytes changed: what some backend wrote.
    func damagedGuards(in memory: GuestMemory) -> [FrameNumber] {
        slots.flatMap(\.guards).filter { page in
            guard let bytes = try? memory.read(at: page.address, count: XenPage.size) else { return true }
            return bytes.contains { $0 != Canary.guestByte }
        }
    }

}
