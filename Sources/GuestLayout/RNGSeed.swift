import Glibc
import SystemIO

/// The `/chosen/rng-seed` bytes for `--rng-seed`: libxl writes 128 random
/// bytes; grantdt writes none unless asked, so output stays reproducible.
public enum RNGSeed {
    public static let size = 128

    /// `--rng-seed HEX`: exactly 256 hexadecimal digits, either case.
    public static func parse(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count == 2 * size else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(size)
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    /// `--rng-seed random`: 128 bytes from /dev/urandom.
    public static func random() throws(IOError) -> [UInt8] {
        let path = "/dev/urandom"
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw IOError(path: path, operation: "read", reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: size)
        var filled = 0
        while filled < size {
            let count = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, size - filled) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                throw IOError(path: path, operation: "read", reason: count == 0 ? "unexpected end of file" : String(cString: strerror(errno)))
            }
            filled += count
        }
        return bytes
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
