import Diagnostics

extension GuestReader {
    /// Keys xl does not read (for this version), and assignments a later one overrides.
    mutating func checkKeys() {
        for (position, setting) in syntax.settings.enumerated() {
            let here = location(setting.keyRange)
            switch KnownKeys.status(of: setting.key, in: version) {
            case .known:
                break
            case .notYet(let since):
                report(XLRules.versionKey.at(
                    here, "xl \(version) does not read `\(setting.key)` (it arrived in \(since)) and ignores it",
                    hint: "select Xen \(since) or later with --xen-version, or remove the setting"))
            case .unknown:
                let suggestion = KnownKeys.suggestion(for: setting.key, in: version)
                report(XLRules.unknownKey.at(
                    here, "xl does not know the key `\(setting.key)` and ignores it",
                    hint: suggestion.map { "did you mean `\($0)`?" } ?? "check the key against xl.cfg(5)"))
            }
            let later = syntax.settings[(position + 1)...]
            if let overriding = later.first(where: { $0.key == setting.key && $0.operation == .assign }) {
                report(XLRules.overridden.at(
                    here, "`\(setting.key)` is set again on line \(location(overriding.keyRange).line); xl uses only the last value",
                    hint: "remove this assignment, or use += to append"))
            }
        }
    }
}
