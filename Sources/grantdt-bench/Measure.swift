import Glibc

/// Wall-clock measurement with a monotonic clock.
enum Measure {
    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// The median duration in seconds of `runs` calls of `body`, after one
    /// warm-up call.
    static func median(runs: Int, _ body: () throws -> Void) rethrows -> Double {
        try body()
        var samples: [Double] = []
        for _ in 0..<runs {
            let start = now()
            try body()
            samples.append(now() - start)
        }
        samples.sort()
        return samples[samples.count / 2]
    }

    /// The median durations of several bodies timed in turn, round after
    /// round (after one warm-up round), so that load from other processes
    /// on a shared machine falls on all of them alike: ratios between the
    /// results stay meaningful when absolute times drift.
    static func interleavedMedians(runs: Int, _ bodies: [() throws -> Void]) throws -> [Double] {
        for body in bodies { try body() }
        var samples = Array(repeating: [Double](), count: bodies.count)
        for _ in 0..<runs {
            for (index, body) in bodies.enumerated() {
                let start = now()
                try body()
                samples[index].append(now() - start)
            }
        }
        return samples.map { $0.sorted()[$0.count / 2] }
    }
}

/// A new, empty directory `parent/grantdt-bench.XXXXXX` (mkdtemp), or nil.
func makeScratchDirectory(in parent: String) -> String? {
    var template = Array("\(parent)/grantdt-bench.XXXXXX".utf8CString)
    return template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }.map { String(cString: $0) }
}

/// Starts programs without Foundation and waits for them.
enum Spawn {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Runs `arguments[0]` (looked up in PATH) with stdout and stderr sent
    /// to /dev/null unless redirected; throws on a non-zero exit.
    static func run(_ arguments: [String], stdoutPath: String = "/dev/null", allowFailure: Bool = false) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, arguments[0], &actions, nil, &argv, environ)
        guard spawned == 0 else { throw Failure(description: "cannot start \(arguments[0]): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exited = status & 0x7f == 0
        let code = (status >> 8) & 0xff
        guard allowFailure || (exited && code == 0) else {
            throw Failure(description: "\(arguments.joined(separator: " ")) failed (status \(status))")
        }
    }
}

/// Formatting helpers for the report.
enum Format {
    static func seconds(_ value: Double) -> String {
        if value >= 1 { return fixed(value, 2) + " s" }
        if value >= 1e-3 { return fixed(value * 1e3, 2) + " ms" }
        return fixed(value * 1e6, 1) + " µs"
    }

    /// An instruction count in millions, one decimal.
    static func millions(_ count: Int) -> String { fixed(Double(count) / 1e6, 1) + " M" }

    /// `value` with `digits` decimals; none and no point for 0 (a whole
    /// number), which `String(Double)` would print as "12.0".
    static func fixed(_ value: Double, _ digits: Int) -> String {
        guard digits > 0 else { return abs(value) < 1e18 ? String(Int(value.rounded())) : String(value) }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        var text = String(rounded)
        if let dot = text.firstIndex(of: ".") {
            let decimals = text.distance(from: dot, to: text.endIndex) - 1
            if decimals < digits { text += String(repeating: "0", count: digits - decimals) }
        } else {
            text += "." + String(repeating: "0", count: digits)
        }
        return text
    }
}
