/// Which DMA ops Linux gives a `virtio,mmio` device, decided from the
/// device tree as `of_dma_configure_id` and the Xen grant callback do
/// (grant-dma.md §4).
public enum DMABinding: Hashable, Sendable {
    /// Grant DMA ops: every buffer is granted to this backend domain.
    case grant(backend: UInt32)
    /// The first `iommus` entry points at another IOMMU (at this node
    /// path): no grant ops; an error in a Xen guest tree.
    case iommu(path: String)
    /// dma-direct bouncing through this `restricted-dma-pool` node.
    case bounce(pool: String)
    /// dma-direct: the backend sees guest-physical addresses.
    case direct

    /// The name used in `inspect --json` and `run --json` (`"dma"`).
    public var kind: String {
        switch self {
        case .grant: "grant"
        case .iommu: "iommu"
        case .bounce: "bounce"
        case .direct: "direct"
        }
    }
}
