import DeviceTree

/// dtc as an independent oracle.
public enum DTC {
    /// Checks libxl's own layout trips (the README's waiver list).
    public static let waivedChecks = ["unit_address_vs_reg", "interrupt_provider"]

    /// `dtc -I dts -O dtb` of `source`; fails the caller on any dtc error.
    public static func compile(_ source: String, waiving waived: [String] = []) throws -> (blob: [UInt8], warnings: String) {
        let flags = waived.flatMap { ["-W", "no-\($0)"] }
        let result = try Tool.dtc(["-I", "dts", "-O", "dtb", "-o", "-"] + flags + ["-"], stdin: Array(source.utf8))
        guard result.status == 0 else { throw OracleError.dtcFailed(result.stderr) }
        return (result.stdout, result.stderr)
    }

    /// `dtc -I dtb -O dts` of `blob`: dtc's own reading of a blob.
    public static func decompile(_ blob: [UInt8], waiving waived: [String] = []) throws -> (text: String, warnings: String) {
        let flags = waived.flatMap { ["-W", "no-\($0)"] }
        let result = try Tool.dtc(["-I", "dtb", "-O", "dts", "-o", "-"] + flags + ["-"], stdin: blob)
        guard result.status == 0 else { throw OracleError.dtcFailed(result.stderr) }
        return (result.stdoutText, result.stderr)
    }

    public enum OracleError: Error, CustomStringConvertible {
        case dtcFailed(String)
        public var description: String {
            switch self { case .dtcFailed(let message): "dtc failed: \(message)" }
        }
    }
}
