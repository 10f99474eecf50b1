import Diagnostics

extension GuestReader {
    /// How many distinct unknown keys get a "did you mean" search.
    static let suggestionLimit = 200

    /// Keys xl does not read (for this version), and assignments a later one overrides.
    mutating func checkKeys() {
        // Walking backwards, the nearest later `=` of each key is known at every setting.
        var nextAssignment: [String: Range<Int>] = [:]
        var overriddenBy = [Range<Int>?](repeating: nil, count: syntax.settings.count)
        for (position, setting) in syntax.settings.enumerated().reversed() {
            overriddenBy[position] = nextAssignment[setting.key]
            if setting.operation == .assign { nextAssignment[setting.key] = setting.keyRange }
        }
        var suggestions: [String: String?] = [:]
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
                // A file with hundreds of unknown keys is not a typo: stop measuring.
                let suggestion = suggestions[setting.key]
                    ?? (suggestions.count < Self.suggestionLimit ? KnownKeys.suggestion(for: setting.key, in: version) : nil)
                suggestions[setting.key] = suggestion
                report(XLRules.unknownKey.at(
                    here, "xl does not know the key `\(setting.key)` and ignores it",
                    hint: suggestion.map { "did you mean `\($0)`?" } ?? "check the key against xl.cfg(5)"))
            }
            if let overriding = overriddenBy[position] {
                report(XLRules.overridden.at(
                    here, "`\(setting.key)` is set again on line \(location(overriding).line); xl uses only the last value",
                    hint: "remove this assignment, or use += to append"))
            }
        }
    }
}
