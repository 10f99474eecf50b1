import Diagnostics

extension GuestReader {
    /// How many distinct unknown keys get a "did you mean" search.
    static let suggestionLimit = 200

    /// Keys xl does not read (for this version), and assignments a later one overrides.
    mutating func checkKeys() {
        let settings = syntax.settings
        let overriddenBy = Self.overridingAssignments(settings)
        var suggestions: [String: String?] = [:]
        // Settings are read in place and located only when reported: most are fine.
        for position in settings.indices {
            let key = settings[position].key
            switch knownKeys.status(of: key) {
            case .known:
                break
            case .notYet(let since):
                report(XLRules.versionKey.at(
                    location(settings[position].keyRange), "xl \(version) does not read `\(key)` (it arrived in \(since)) and ignores it",
                    hint: "select Xen \(since) or later with --xen-version, or remove the setting"))
            case .unknown:
                // A file with hundreds of unknown keys is not a typo: stop measuring.
                let suggestion = suggestions[key]
                    ?? (suggestions.count < Self.suggestionLimit ? knownKeys.suggestion(for: key) : nil)
                suggestions[key] = suggestion
                report(XLRules.unknownKey.at(
                    location(settings[position].keyRange), "xl does not know the key `\(key)` and ignores it",
                    hint: suggestion.map { "did you mean `\($0)`?" } ?? "check the key against xl.cfg(5)"))
            }
            if let overriding = overriddenBy[position] {
                report(XLRules.overridden.at(
                    location(settings[position].keyRange),
                    "`\(key)` is set again on line \(location(settings[overriding].keyRange).line); xl uses only the last value",
                    hint: "remove this assignment, or use += to append"))
            }
        }
    }

    /// For each setting, the index of the nearest later `=` of its key.
    /// Each `=` walks back along its key's earlier settings until one
    /// already has its answer, so every setting is visited once.
    static func overridingAssignments(_ settings: [Setting]) -> [Int?] {
        var overriddenBy = [Int?](repeating: nil, count: settings.count)
        for index in settings.indices where settings[index].operation == .assign {
            var earlier = settings[index].earlier
            while let position = earlier, overriddenBy[position] == nil {
                overriddenBy[position] = index
                earlier = settings[position].earlier
            }
        }
        return overriddenBy
    }
}
