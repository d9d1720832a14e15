import Foundation

/// `groupsync check`: each directory's connection tested step by step, and the store —
/// the equivalent of a mail gateway's "Test Connection". Each step passes, fails (and the
/// steps after it that need it are skipped), or warns; a failure says why and what to try.
public struct CheckAnswer: Codable, Sendable {
    public enum Status: String, Codable, Sendable { case pass, fail, warn, skip }

    public struct Step: Codable, Sendable {
        public var name: String
        public var status: Status
        public var detail: String
        public var hint: String?

        public init(_ name: String, _ status: Status, _ detail: String, hint: String? = nil) {
            self.name = name
            self.status = status
            self.detail = detail
            self.hint = hint
        }
    }

    public struct Directory: Codable, Sendable {
        public var name: String
        public var url: String
        public var steps: [Step]
    }

    public var config: String
    public var directories: [Directory]
    public var store: Step

    /// True when no step failed (warnings pass).
    public var passed: Bool {
        store.status != .fail && directories.allSatisfy { $0.steps.allSatisfy { $0.status != .fail } }
    }

    public var text: String {
        var lines = ["configuration \(config): valid"]
        func mark(_ status: Status) -> String {
            switch status {
            case .pass: "✔"
            case .fail: "✘"
            case .warn: "!"
            case .skip: "–"
            }
        }
        for directory in directories {
            lines.append("\ndirectory \(directory.name) (\(directory.url))")
            for step in directory.steps {
                lines.append("  \(mark(step.status)) \(step.name.padding(toLength: 14, withPad: " ", startingAt: 0)) \(step.detail)")
                if let hint = step.hint { lines.append("      hint: \(hint)") }
            }
        }
        lines.append("\n\(mark(store.status)) store          \(store.detail)")
        if let hint = store.hint { lines.append("      hint: \(hint)") }
        lines.append(passed ? "\nall checks passed" : "\nsome checks failed")
        return lines.joined(separator: "\n")
    }
}
