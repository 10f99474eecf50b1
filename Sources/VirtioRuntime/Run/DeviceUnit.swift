import GrantEngine

/// One device's part of a run: bring-up, workload, attacks, teardown,
/// and its report.
final class DeviceUnit {
    let session: DeviceSession
    let hostile: HostileBackend?
    /// The image started zeroed (temporary file, memory).
    let freshImage: Bool
    let backend: UInt16?
    private var bringUpError: DriverError?

    init(session: DeviceSession, hostile: HostileBackend?, freshImage: Bool, backend: UInt16?) {
        self.session = session
        self.hostile = hostile
        self.freshImage = freshImage
        self.backend = backend
    }

    func bringUp() {
        do throws(DriverError) { try session.bringUp() } catch { bringUpError = error }
    }

    /// Workload, attacks (hostile runs), teardown.
    func run(index: Int, of count: Int, options: RunOptions) -> (device: DeviceReport, attacks: [AttackReport]) {
        let system = session.system
        var report = DeviceReport(
            path: session.path, kind: session.kind, dma: session.dma.kind, backend: backend,
            servedBy: session.dma.backend.id.rawValue)
        let refusedBefore = system.hypervisor.events.total
        var records: [AttackRecord] = []
        var verified = false
        if let bringUpError {
            report.errors.append("bring-up: \(bringUpError)")
        } else {
            let runner = WorkloadRunner(session: session, seed: options.seed &+ UInt64(index), startsZeroed: freshImage)
            verified = workload(runner, index: index, of: count, options: options, into: &report)
            if let hostile { records = attack(with: hostile, runner: runner, requests: options.requests) }
        }
        // Under grants no attack may touch a guard page; in a normal run no
        // backend at all. (A hostile direct backend doing so is reported as
        // its attack's success instead.)
        let damaged = session.slots.damagedGuards(in: system.guest.memory)
        if !damaged.isEmpty && (session.dma.grantBound || hostile == nil) {
            verified = false
            report.errors.append("guard pages no backend was given changed: \(damaged.map(\.description).joined(separator: ", "))")
        }
        let teardown: DeviceSession.Teardown
        if let hostile, bringUpError == nil {
            let held: AttackRecord
            (teardown, held) = holdAcrossTeardown(hostile)
            records.append(held)
        } else {
            teardown = session.finish()
        }
        report.verified = verified
        report.grantsOutstanding = teardown.grantsOutstanding
        report.broken = teardown.broken
        report.pagesLeaked = teardown.pagesLeaked
        if teardown.broken, let reason = session.brokenBy { report.errors.append("teardown: \(reason)") }
        report.refused = system.hypervisor.events.total - refusedBefore
        let attacks = AttackID.allCases.flatMap { id in records.filter { $0.attack == id }.map { $0.report(device: session.path) } }
        return (report, attacks)
    }

    /// The workload and its costs; true when every request verified.
    private func workload(_ runner: WorkloadRunner, index: Int, of count: Int, options: RunOptions,
                          into report: inout DeviceReport) -> Bool {
        let items: [WorkItem]
        switch session.kind {
        case .block:
            let readOnly = session.driver.features.contains(.blockReadOnly)
            let sectors = session.driver.config64(BlockProtocol.capacityOffset)
            items = WorkloadPlan.block(count: options.requests, sizes: options.requestSize, sectors: sectors, readOnly: readOnly,
                                       seed: options.seed &+ UInt64(index))
        case .loopback:
            items = WorkloadPlan.loopback(count: options.requests, sizes: options.requestSize, seed: options.seed &+ UInt64(index))
        }
        let before = counters()
        let path = session.path
        let total = items.count
        let progress = options.progress
        var result: WorkloadResult
        do throws(RequestError) {
            result = try runner.run(items) { completed in
                progress?(RunProgress(device: index, devices: count, path: path, completed: completed, total: total))
            }
        } catch {
            report.errors.append("workload: \(error)")
            return false
        }
        report.costs = counters().costs(since: before, requests: result.completed)
        report.requests = result.completed
        report.bytes = result.bytes
        report.errors += result.messages
        if result.failures > result.messages.count {
            report.errors.append("\(result.failures - result.messages.count) more failed requests")
        }
        return result.failures == 0 && result.completed == items.count
    }

    private func counters() -> CostCounters {
        CostCounters(session.dma.ops.statistics, session.accessor.statistics)
    }

    // MARK: Attacks

    /// A probe request the backend attacks while serving it, then the
    /// attacks on the idle device.
    private func attack(with hostile: HostileBackend, runner: WorkloadRunner, requests: Int) -> [AttackRecord] {
        let ramBase = session.system.guest.memory.banks.first?.base ?? GuestAddress(0)
        hostile.arm()
        let probe = WorkItem(
            index: requests, operation: session.kind == .block ? .write : .echo, sector: 0,
            length: min(XenPage.size, session.maxRequest), pageOffset: 512)
        var records: [AttackRecord] = []
        do throws(RequestError) {
            let result = try runner.run([probe], checkSources: true)
            records = hostile.takeInRequestRecords()
            if result.modifiedSources > 0, let index = records.firstIndex(where: { $0.attack == .writeReadOnly }) {
                records[index].add("look at the guest's buffer afterwards: the marker is there", .succeeded)
            }
        } catch {
            // The device failed under the probe: the attacks that needed it
            // record that nothing could be tried.
        }
        for id in [AttackID.writeReadOnly, .readOutsideBuffer] where !records.contains(where: { $0.attack == id }) {
            var record = AttackRecord(attack: id)
            record.add("no request reached the backend to attack", .refused(.rejected))
            records.append(record)
        }
        let other = session.system.bystander
        records += [
            hostile.mapUngranted(ramBase: ramBase),
            hostile.mapOtherDomain(other.id, ramBase: other.memory.banks.first?.base ?? GuestAddress(0)),
            hostile.mapAfterEnd(),
            hostile.reuseHandle(),
            hostile.forgeGPA(ramBase: ramBase),
            hostile.guessRefs(ramBase: ramBase),
        ]
        return records
    }

    /// `hold-mapping`: the backend maps a ring page once more and keeps it
    /// through the teardown; afterwards, did the guest ever treat that page
    /// (or its grant) as free?
    private func holdAcrossTeardown(_ hostile: HostileBackend) -> (DeviceSession.Teardown, AttackRecord) {
        var record = AttackRecord(attack: .holdMapping)
        let ring = session.requests?.queue.ring
        guard let held = hostile.beginHold() else {
            record.add("map a ring page to hold", .refused(.rejected))
            return (session.finish(), record)
        }
        defer { hostile.endHold(held) }
        let teardown = session.finish()
        guard let ring else {
            record.add("hold a ring page of a device that is not up", .refused(.rejected))
            return (teardown, record)
        }
        let guest = session.system.guest
        let frame = ring.guestAddress.frame
        let action = "keep a mapping of the ring page \(frame) across the reset"
        guard held.isMapped else {
            record.add(action, .refused(.rejected))
            return (teardown, record)
        }
        let pageFree = guest.pages.isFree(frame)
        let refFree = ring.dmaAddress.isGrant && guest.grants.isFree(ring.dmaAddress.grantRef)
        if pageFree || refFree {
            record.add(action + (pageFree ? ": the guest freed the page" : ": the guest freed the ref"),
                       hostile.judge.foreignMapped(frame, of: guest.id))
        } else {
            let broken = session.dma.ops.isBroken ? "; the device is broken, its grants and pages never reused" : ""
            record.add(action + ": the guest kept the page out of use" + broken, .contained)
        }
        return (teardown, record)
    }
}
