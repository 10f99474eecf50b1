/// Refs whose end of access failed and that Linux retries later
/// (`gnttab_end_foreign_access`'s deferred list, grant-dma.md §7). Each
/// keeps its page referenced until the grant really ends, so the memory is
/// not reused while a backend may still reach it.
struct DeferredEndList {
    /// Linux warns "g.e. … still pending" after this many failed retries.
    static let warnDelay = 60

    struct Entry {
        let ref: GrantRef
        let page: FrameNumber?
        var triesLeft = DeferredEndList.warnDelay
    }

    private(set) var entries: [Entry] = []

    mutating func append(_ ref: GrantRef, page: FrameNumber?) {
        entries.append(Entry(ref: ref, page: page))
    }

    /// One timer pass: retries up to `limit` entries from the front (0 =
    /// each entry once), stopping when it meets an entry it already put
    /// back. `end` tries to end one ref; failures go to the back.
    mutating func retry(limit: Int, end: (GrantRef) -> Bool) -> DeferredPass {
        var pass = DeferredPass()
        var budget = limit == 0 ? entries.count : limit
        var firstRequeued: GrantRef?
        while budget > 0, !entries.isEmpty {
            budget -= 1
            var entry = entries.removeFirst()
            if entry.ref == firstRequeued {
                entries.insert(entry, at: 0)
                break
            }
            if end(entry.ref) {
                pass.reclaimed.append(DeferredPass.Reclaimed(ref: entry.ref, page: entry.page))
                continue
            }
            entry.triesLeft -= 1
            if entry.triesLeft == 0 { pass.warned.append(entry.ref) }
            if firstRequeued == nil { firstRequeued = entry.ref }
            entries.append(entry)
        }
        pass.pending = entries.map(\.ref)
        return pass
    }
}

/// What one pass over the deferred list did.
public struct DeferredPass: Hashable, Sendable {
    public struct Reclaimed: Hashable, Sendable {
        public let ref: GrantRef
        /// The page released with it, if one was queued.
        public let page: FrameNumber?

        public init(ref: GrantRef, page: FrameNumber?) {
            self.ref = ref
            self.page = page
        }
    }

    /// Refs whose access ended: freed, their pages released.
    public var reclaimed: [Reclaimed] = []
    /// Refs that reached 60 failed retries in this pass ("still pending").
    public var warned: [GrantRef] = []
    /// Refs still waiting, in queue order: what could not be reclaimed.
    public var pending: [GrantRef] = []
}
