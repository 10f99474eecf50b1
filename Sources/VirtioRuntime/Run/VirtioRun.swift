import DeviceTree
import GrantEngine

/// `grantdt run` as a library: binds every enabled `virtio,mmio` device of
/// a guest tree to the DMA ops Linux gives it, serves each from a backend
/// in its backend domain (a virtio-blk disk or the loopback device), runs
/// a verified workload through it, optionally attacks from the backend,
/// tears everything down and reports per device.
///
/// Devices are brought up together (so their grants coexist), then run
/// and torn down one after another, which makes each device's costs and
/// refused operations its own.
public enum VirtioRun {
    /// Device kinds from a DTB alone: a node with an `i2c` or `gpio` child
    /// is a loopback device (libxl gives those types a child), any other
    /// is served as virtio-blk. Keys are node paths.
    public static func kinds(inferredFrom tree: DeviceTree) -> [String: DeviceKind] {
        var kinds: [String: DeviceKind] = [:]
        for device in Binder(tree: tree).devices {
            let children = tree.node(at: device.path)?.children.map(\.baseName) ?? []
            kinds[device.path] = children.contains("i2c") || children.contains("gpio") ? .loopback : .block
        }
        return kinds
    }

    /// Runs every enabled `virtio,mmio` device of `tree`.
    ///
    /// - Parameters:
    ///   - kinds: what each device is, by node path; devices not listed
    ///     are served as virtio-blk.
    ///   - backends: a backend domid for devices whose tree names none
    ///     (direct and bounce devices; dom0 otherwise). These domains are
    ///     privileged: they reach guest-physical memory by foreign maps, as
    ///     a driver domain serving a device without grants must be able to
    ///     (with `--hostile` the report shows what that exposes).
    public static func run(
        tree: DeviceTree, kinds: [String: DeviceKind], backends: [String: UInt16] = [:], options: RunOptions
    ) throws(RunError) -> RunReport {
        try options.validate()
        let devices = Binder(tree: tree).devices.filter { $0.state.dma != nil }
        guard !devices.isEmpty else { throw .tree("the tree has no enabled virtio,mmio device to run") }
        let blockCount = devices.filter { (kinds[$0.path] ?? .block) == .block }.count
        guard options.disks.count <= blockCount else {
            throw .options("--disk is given \(options.disks.count) times but the tree has \(blockCount) virtio-blk devices")
        }
        for (path, domid) in backends.sorted(by: { $0.key < $1.key }) where domid >= DomainID.firstReserved.rawValue {
            throw .tree("\(path): backend domid \(domid) is not a domain id (0 to 0x7fef)")
        }
        var backendIDs = Set(backends.values.map { DomainID($0) })
        for device in devices {
            if case .grant(let domid)? = device.state.dma {
                guard domid < UInt32(DomainID.firstReserved.rawValue) else {
                    throw .tree("\(device.path): backend domid \(domid) is not a domain id (0 to 0x7fef)")
                }
                backendIDs.insert(DomainID(UInt16(domid)))
            }
        }
        let system = try GuestSystem(
            ram: try GuestRAM.banks(of: tree), backendIDs: backendIDs,
            privileged: Set(backends.values.map { DomainID($0) }))
        let maxRequest = options.requestSize.maximum
        let factory = DMAOpsFactory(system: system, tree: tree, mode: options.grantMode, queueDepth: options.queueDepth,
                                    maxRequest: maxRequest)
        let units = try prepare(devices, kinds: kinds, backends: backends, factory: factory, options: options)

        var report = RunReport(hostile: options.hostile)
        for unit in units { unit.bringUp() }
        for (index, unit) in units.enumerated() {
            let outcome = unit.run(index: index, of: units.count, options: options)
            report.devices.append(outcome.device)
            report.attacks += outcome.attacks
        }
        return report
    }

    /// Opens the disks and builds every device's session.
    private static func prepare(
        _ devices: [DeviceBinding], kinds: [String: DeviceKind], backends: [String: UInt16], factory: DMAOpsFactory,
        options: RunOptions
    ) throws(RunError) -> [DeviceUnit] {
        var disks = options.disks[...]
        var units: [DeviceUnit] = []
        // A device that cannot be prepared stops the run: the backends
        // already started are shut down first.
        do throws(RunError) {
            for device in devices {
                let kind = kinds[device.path] ?? .block
                units.append(try prepare(device, kind: kind, disk: kind == .block ? disks.popFirst() : nil,
                                         backend: backends[device.path], factory: factory, options: options))
            }
        } catch {
            for unit in units { _ = unit.session.finish() }
            throw error
        }
        return units
    }

    private static func prepare(
        _ device: DeviceBinding, kind: DeviceKind, disk: DiskSource?, backend override: UInt16?, factory: DMAOpsFactory,
        options: RunOptions
    ) throws(RunError) -> DeviceUnit {
        var image: DiskImage?
        var fresh = false
        if kind == .block {
            let source = disk ?? .temporary(bytes: DiskSource.defaultBytes)
            if case .file = source {} else { fresh = true }
            do throws(DiskError) {
                image = try DiskImage.open(source, minimumBytes: options.requestSize.maximum)
            } catch {
                throw .disk(error)
            }
        }
        let dma = try factory.make(for: device, kind: kind, backend: override.map { DomainID($0) })
        var hostile: HostileBackend?
        if options.hostile {
            let judge = AttackJudge(guest: factory.system.guest, bystander: factory.system.bystander,
                                    attacker: dma.backend.id, window: dma.window)
            // virtio-blk's first readable buffer is the header, the data follows.
            hostile = HostileBackend(me: dma.backend, judge: judge, dataBuffer: kind == .block ? 1 : 0)
        }
        let session = try DeviceSession(
            path: device.path, kind: kind, system: factory.system, dma: dma, image: image,
            queueDepth: options.queueDepth, maxRequest: options.requestSize.maximum, observer: hostile)
        var backend = override
        if case .grant(let domid)? = device.state.dma { backend = UInt16(domid) }
        return DeviceUnit(session: session, hostile: hostile, freshImage: fresh, backend: backend)
    }
}
