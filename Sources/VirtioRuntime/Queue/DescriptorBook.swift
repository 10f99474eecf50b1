/// The driver's own record of a split virtqueue's descriptors (Linux's
/// `desc_extra` and `desc_state`): which are free, how the driver linked
/// each chain and under which token. The table in ring memory is
/// device-writable, so the driver never follows links or trusts ids it
/// reads back; it follows these.
///
/// A value the `QueueDriver` keeps in one property and changes through
/// one mutating call per chain: element by element through the class,
/// every array access paid Swift's dynamic exclusivity check (about 60
/// instructions each, more than the bookkeeping itself).
struct DescriptorBook {
    /// One chain out with the device.
    struct Chain {
        let length: Int
        let token: Int
    }

    /// Free descriptor indices (a stack).
    private var free: [UInt16]
    /// Per descriptor: the next one of its chain.
    private var links: [UInt16]
    /// Per head: the chain out with the device, if any. No array per
    /// chain: a request allocates nothing here.
    private var chains: [Chain?]

    init(size: Int) {
        free = (0..<size).reversed().map { UInt16($0) }
        links = Array(repeating: 0, count: size)
        chains = Array(repeating: nil, count: size)
    }

    var freeCount: Int { free.count }

    /// Takes `indices.count` free descriptors (the caller checked there
    /// are enough) into `indices`, linked in that order, and records them
    /// as a chain under `token`; `place` learns each one by position.
    mutating func take(
        into indices: UnsafeMutableBufferPointer<UInt16>, token: Int, placing place: (_ position: Int, _ descriptor: UInt16) -> Void
    ) {
        for position in indices.indices {
            let index = free.removeLast()
            indices.initializeElement(at: position, to: index)
            if position > 0 { links[Int(indices[position - 1])] = index }
            place(position, index)
        }
        chains[Int(indices[0])] = Chain(length: indices.count, token: token)
    }

    /// Frees the chain headed by `head`, if one is out there; `release`
    /// learns each of its descriptors in chain order first. The
    /// descriptors go back in reverse onto the stack, so the next chain
    /// takes the same ones in the same order, as Linux's free list (linked
    /// through `next`) gives them back: chains stay runs of adjacent
    /// descriptors, which the device reads in one access.
    mutating func release(head: UInt16, _ release: QueueDriver.Release) -> Chain? {
        guard Int(head) < chains.count, let chain = chains[Int(head)] else { return nil }
        chains[Int(head)] = nil
        // Pushed in chain order, then that run reversed in place by hand
        // (`free[start...].reverse()` copied the array: 650 instructions a request).
        let start = free.count
        var index = head
        for position in 0..<chain.length {
            release(chain.token, index, position)
            free.append(index)
            index = links[Int(index)]
        }
        var (low, high) = (start, free.count - 1)
        while low < high {
            free.swapAt(low, high)
            low += 1
            high -= 1
        }
        return chain
    }

    /// Forgets every chain (a reset); returns their tokens by head, after
    /// `release` learnt each of their descriptors.
    mutating func releaseAll(_ release: QueueDriver.Release) -> [Int] {
        let size = chains.count
        var tokens: [Int] = []
        for head in 0..<size {
            if let chain = self.release(head: UInt16(head), release) { tokens.append(chain.token) }
        }
        // A reset starts the stack afresh, in the order `init` gives.
        self = DescriptorBook(size: size)
        return tokens
    }
}
