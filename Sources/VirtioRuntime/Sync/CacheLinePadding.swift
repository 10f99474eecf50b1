/// 64 bytes of nothing, stored between groups of fields that threads use
/// differently (read-mostly fields, atomics both threads write), so that
/// no two groups share a cache line (x86-64 and Arm64 lines are 64
/// bytes): a store to one group then no longer evicts the line another
/// thread keeps reading. Swift lays out a class's stored properties in
/// declaration order, so a padding field separates the fields declared
/// before it from those after it.
struct CacheLinePadding {
    private let bytes = InlineArray<8, UInt64>(repeating: 0)
}
