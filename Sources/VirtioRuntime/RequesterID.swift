/// A PCI requester ID: `bus << 8 | device << 3 | function`.
public struct RequesterID: Hashable, Sendable, CustomStringConvertible {
    public let value: UInt16

    public init(_ value: UInt16) { self.value = value }

    public var bus: UInt16 { value >> 8 }
    public var device: UInt16 { (value >> 3) & 0x1f }
    public var function: UInt16 { value & 0x7 }

    /// `0x0008` style.
    public var hexText: String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: 4 - digits.count) + digits
    }

    /// `00:01.0` style, as lspci prints it.
    public var description: String { "\(pad(bus, 2)):\(pad(device, 2)).\(function)" }

    /// Parses `0x0008` (hexadecimal, at most 0xffff) or `bus:dev.fn` in
    /// lspci's hexadecimal notation, optionally with a PCI domain in front
    /// (`0000:00:01.0`; a RID does not carry the domain).
    public init?(parsing text: String) {
        if text.hasPrefix("0x") || text.hasPrefix("0X") {
            guard let value = Self.hex(text.dropFirst(2), digits: 1...4) else { return nil }
            self.value = value
            return
        }
        var parts = text.split(separator: ":", omittingEmptySubsequences: false)
        if parts.count == 3 {
            guard Self.hex(parts[0], digits: 1...4) != nil else { return nil }
            parts.removeFirst()
        }
        guard parts.count == 2 else { return nil }
        let slot = parts[1].split(separator: ".", omittingEmptySubsequences: false)
        guard slot.count == 2, let bus = Self.hex(parts[0], digits: 1...2),
            let device = Self.hex(slot[0], digits: 1...2), device < 32,
            let function = Self.hex(slot[1], digits: 1...1), function < 8
        else { return nil }
        value = bus << 8 | device << 3 | function
    }

    /// Strict hexadecimal: only hex digits (no sign), within a digit count.
    private static func hex(_ text: Substring, digits: ClosedRange<Int>) -> UInt16? {
        guard digits.contains(text.count), text.allSatisfy(\.isHexDigit) else { return nil }
        return UInt16(text, radix: 16)
    }

    private func pad(_ value: UInt16, _ width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(width - digits.count, 0)) + digits
    }
}
